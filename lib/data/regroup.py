"""Re-split a data set so that no patient (or clip) is on two sides of a split.

Frames of one clip are near-duplicates; if they sit in train and test, the test
score measures memory, not generalisation. ``split_by_group`` pools every
image of a ``DataSpec``, groups frames by patient or clip (file-name pattern of
``leakage.py``; an unparsed name is its own group), shuffles the groups with a
seed and deals them out to reach the target fractions of images. The result is
a new ``data.yaml`` whose splits are ``.txt`` lists of absolute image paths;
labels stay where they are.
"""
from __future__ import annotations

from pathlib import Path

import numpy as np

from .files import split_files
from .leakage import parse_frame_name
from .spec import SPLITS, DataSpec, write_data_yaml

GROUPS = ("patient", "clip")


def group_key(image: Path, by: str) -> str:
    name = parse_frame_name(image)
    if name is None:
        return f"unparsed:{image}"
    return name.patient if by == "patient" else name.clip


def split_by_group(spec: DataSpec, out_dir: str | Path, by: str = "patient",
                   fractions: tuple[float, ...] = (0.62, 0.155, 0.225), seed: int = 0) -> Path:
    """Write ``out_dir/{train,val,test}.txt`` and ``out_dir/data.yaml``; return the yaml's path.

    ``fractions`` are image shares for train, val (and test, if three are given).
    """
    if by not in GROUPS:
        raise ValueError(f"by={by!r}; expected one of {GROUPS}")
    if len(fractions) not in (2, 3) or min(fractions) < 0 or abs(sum(fractions) - 1) > 1e-6:
        raise ValueError(f"fractions={fractions}: expected 2 or 3 non-negative shares summing to 1")
    images = sorted({p.resolve() for split in spec.splits for p in split_files(spec, split).images})
    groups: dict[str, list[Path]] = {}
    for img in images:
        groups.setdefault(group_key(img, by), []).append(img)
    keys = sorted(groups)
    order = np.random.default_rng(seed).permutation(len(keys))
    names = SPLITS[:len(fractions)]
    target = np.asarray(fractions) * len(images)
    have = np.zeros(len(names))
    assigned: dict[str, list[Path]] = {n: [] for n in names}
    for i in order:  # deal each group to the split furthest below its target
        k = int(np.argmax(target - have))
        assigned[names[k]].extend(groups[keys[i]])
        have[k] += len(groups[keys[i]])
    out = Path(out_dir)
    out.mkdir(parents=True, exist_ok=True)
    for n in names:
        (out / f"{n}.txt").write_text("".join(f"{p}\n" for p in sorted(assigned[n])), encoding="utf-8")
    return write_data_yaml(out / "data.yaml", {n: f"{n}.txt" for n in names}, spec.names, spec.view_names)

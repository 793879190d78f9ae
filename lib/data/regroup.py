"""Re-split a data set so that no patient (or clip) is on two sides of a split.

Frames of one clip are near-duplicates; if they sit in train and test, the test
score measures memory, not generalisation. ``split_by_group`` pools every
image of a ``DataSpec``, groups frames by patient or clip (file-name pattern of
``leakage.py``; an unparsed name is its own group), shuffles the groups with a
seed and deals them out (``stratify.GroupDealer``) to reach the target fractions
of images with the same view x jet-class mix in every split. The result is
a new ``data.yaml`` whose splits are ``.txt`` lists of absolute image paths;
labels stay where they are.
"""
from __future__ import annotations

from pathlib import Path

import numpy as np

from .errors import LabelError
from .files import split_files
from .labels import parse_label_file
from .leakage import parse_frame_name
from .spec import SPLITS, DataSpec, write_data_yaml
from .stratify import GroupDealer, strata_counts

GROUPS = ("patient", "clip")


def group_key(image: Path, by: str) -> str:
    name = parse_frame_name(image)
    if name is None:
        return f"unparsed:{image}"
    return name.patient if by == "patient" else name.clip


def split_by_group(spec: DataSpec, out_dir: str | Path, by: str = "patient",
                   fractions: tuple[float, ...] = (0.62, 0.155, 0.225), seed: int = 0) -> Path:
    """Write ``out_dir/{train,val,test}.txt`` and ``out_dir/data.yaml``; return the yaml's path.

    ``fractions`` are image shares for train, val (and test, if three are given); each split
    gets whole groups, stratified by view and jet class (an unreadable label counts for size
    only). Deterministic for a seed. Raises ValueError for an unknown ``by`` or bad fractions.
    """
    if by not in GROUPS:
        raise ValueError(f"by={by!r}; expected one of {GROUPS}")
    if len(fractions) not in (2, 3) or min(fractions) < 0 or abs(sum(fractions) - 1) > 1e-6:
        raise ValueError(f"fractions={fractions}: expected 2 or 3 non-negative shares summing to 1")
    n_strata = spec.n_views * (spec.nc + 1)
    strata: dict[Path, np.ndarray] = {}
    for split in spec.splits:
        files = split_files(spec, split)
        for img, lbl in zip(files.images, files.labels):
            try:
                rec = parse_label_file(lbl, spec.nc, spec.n_views)
                strata[img.resolve()] = strata_counts(rec.view, rec.boxes[:, 0].astype(int), spec.n_views, spec.nc)
            except LabelError:
                strata[img.resolve()] = np.zeros(n_strata)  # no label: dealt by size alone
    images = sorted(strata)
    groups: dict[str, list[Path]] = {}
    for img in images:
        groups.setdefault(group_key(img, by), []).append(img)
    keys = sorted(groups)
    order = np.random.default_rng(seed).permutation(len(keys))
    names = SPLITS[:len(fractions)]
    dealer = GroupDealer(np.asarray(fractions) * len(images), n_strata)
    assigned: dict[str, list[Path]] = {n: [] for n in names}
    for i in order:
        members = groups[keys[i]]
        counts = sum(strata[p] for p in members)
        k = dealer.choose(counts)
        dealer.add(k, counts, len(members))
        assigned[names[k]].extend(members)
    out = Path(out_dir)
    out.mkdir(parents=True, exist_ok=True)
    for n in names:
        (out / f"{n}.txt").write_text("".join(f"{p}\n" for p in sorted(assigned[n])), encoding="utf-8")
    return write_data_yaml(out / "data.yaml", {n: f"{n}.txt" for n in names}, spec.names, spec.view_names)

"""Which images a split holds, and which label file goes with each (the YOLOv5 convention).

A split source is a folder (every image under it, recursively) or a ``.txt`` list (one image path per line,
relative to the list's folder for ``./x``, else to the root). ``.../images/a.png`` has its label at
``.../labels/a.txt`` (the last ``/images/`` becomes ``/labels/``; no ``images`` folder: beside the image),
YOLOv5's ``img2label_paths``; images sorted by path as YOLOv5 sorts them (suffixes: ``lib.data.images``).

Listing also finds what a loader must not miss silently: label files without an
image (``orphan_labels``), listed images that do not exist (``problems``, each a
``LabelError`` naming the list and line), text files in a labels folder that are
not label files at all, e.g. labelImg's ``classes.txt`` (``ignored``), and an
image listed twice (kept once; ``repeated``).
"""
from __future__ import annotations

import os
from pathlib import Path
from typing import NamedTuple

from .errors import DataError, LabelError
from .images import IMAGE_SUFFIXES, UNDECODABLE_SUFFIXES
from .spec import DataSpec

LISTED_SUFFIXES = IMAGE_SUFFIXES + UNDECODABLE_SUFFIXES


class SplitFiles(NamedTuple):
    """One split's files; ``images`` sorted and unique, ``labels[i]`` the label path of ``images[i]``."""

    images: list[Path]
    labels: list[Path]
    orphan_labels: list[Path]
    problems: list[LabelError]
    ignored: list[Path]
    repeated: list[Path]


def label_path(image: Path) -> Path:
    """``.../images/x.png`` -> ``.../labels/x.txt``."""
    parts = list(image.parts)
    for i in range(len(parts) - 2, -1, -1):
        if parts[i] == "images":
            parts[i] = "labels"
            break
    return Path(*parts).with_suffix(".txt")


def _norm(p: Path) -> Path:
    return Path(os.path.normpath(p.absolute()))


def is_label_shaped(path: Path) -> bool:
    """True if every non-empty line of ``path`` is whitespace-separated numbers (a label file could be)."""
    try:
        text = path.read_text(encoding="utf-8-sig")
    except (OSError, UnicodeDecodeError):
        return False
    try:
        for line in text.splitlines():
            [float(t) for t in line.split()]
    except ValueError:
        return False
    return True


def _from_folder(where: Path) -> tuple[list[Path], Path]:
    images = [_norm(p) for p in where.rglob("*") if p.suffix.lower() in LISTED_SUFFIXES and p.is_file()]
    return images, label_path(where / "x.png").parent


def _from_list(txt: Path, root: Path, problems: list[LabelError]) -> list[Path]:
    try:
        lines = txt.read_text(encoding="utf-8-sig").splitlines()
    except (OSError, UnicodeDecodeError) as e:
        raise DataError(f"{txt}: cannot read the image list ({e})") from None
    out = []
    for lineno, line in enumerate(lines, start=1):
        entry = line.strip()
        if not entry or entry.startswith("#"):
            continue
        p = Path(entry).expanduser()
        candidates = [p] if p.is_absolute() else list(dict.fromkeys(_norm(c) for c in (txt.parent / p, root / p)))
        found = next((c for c in candidates if c.is_file()), None)
        if found is None:
            where = " or ".join(str(c) for c in candidates)
            problems.append(LabelError(txt, lineno, f"listed image {entry} does not exist (looked for {where})",
                                       kind="listed image missing"))
        elif found.suffix.lower() not in LISTED_SUFFIXES:
            problems.append(LabelError(txt, lineno, f"listed file {entry} is not an image: expected one of "
                                                    f"{', '.join(IMAGE_SUFFIXES)}", kind="listed file not an image"))
        else:
            out.append(_norm(found))
    return out


def split_files(spec: DataSpec, split: str) -> SplitFiles:
    """List a split's images and labels; orphan labels are looked for in the label folders of folder sources."""
    if split not in spec.splits:
        raise DataError(f"{spec.yaml_path}: no split '{split}' (have {sorted(spec.splits)})")
    found: list[Path] = []
    label_dirs: list[Path] = []
    problems: list[LabelError] = []
    for where in spec.splits[split]:
        if where.is_dir():
            images, label_dir = _from_folder(where)
            found += images
            label_dirs.append(label_dir)
        else:
            found += _from_list(where, spec.root, problems)
    images = sorted(set(found), key=str)
    counts: dict[Path, int] = {}
    for p in found:
        counts[p] = counts.get(p, 0) + 1
    repeated = [p for p in images if counts[p] > 1]
    labels = [label_path(p) for p in images]
    known = set(labels)
    orphans, ignored = [], []
    for label_dir in dict.fromkeys(label_dirs):
        if not label_dir.is_dir():
            continue
        for txt in sorted(_norm(p) for p in label_dir.rglob("*.txt")):
            if txt in known:
                continue
            (orphans if is_label_shaped(txt) else ignored).append(txt)
    return SplitFiles(images, labels, orphans, problems, ignored, repeated)

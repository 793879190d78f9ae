"""Which image goes with which label file (the YOLOv5 convention).

An image ``.../train/images/a.png`` has its label at ``.../train/labels/a.txt``:
the last ``/images/`` in the path becomes ``/labels/`` (no ``images`` folder: the
label sits next to the image). Listing also finds label files without an image,
which the upstream data had and which silently shrink a split if ignored.
"""
from __future__ import annotations

from pathlib import Path
from typing import NamedTuple

from .errors import DataError
from .spec import IMG_EXTS, DataSpec


class SplitFiles(NamedTuple):
    """Images of a split (sorted), their expected label paths, and label files with no image."""

    images: list[Path]
    labels: list[Path]
    orphan_labels: list[Path]


def label_path(image: Path) -> Path:
    """``.../images/x.png`` -> ``.../labels/x.txt``."""
    parts = list(image.parts)
    for i in range(len(parts) - 2, -1, -1):
        if parts[i] == "images":
            parts[i] = "labels"
            break
    return Path(*parts).with_suffix(".txt")


def _is_image(p: Path) -> bool:
    return p.is_file() and p.suffix.lower() in IMG_EXTS


def _from_list(txt: Path, root: Path) -> list[Path]:
    out = []
    for line in txt.read_text(encoding="utf-8").splitlines():
        line = line.strip()
        if line and not line.startswith("#"):
            p = Path(line)
            out.append(p if p.is_absolute() else root / p)
    return out


def split_files(spec: DataSpec, split: str) -> SplitFiles:
    """List a split's images and labels; orphan labels are only looked for in folder splits."""
    if split not in spec.splits:
        raise DataError(f"{spec.yaml_path}: no split '{split}' (have {sorted(spec.splits)})")
    where = spec.splits[split]
    if where.is_dir():
        images = sorted(p for p in where.rglob("*") if _is_image(p))
        labels = [label_path(p) for p in images]
        label_dir = label_path(where / "x.png").parent
        known = set(labels)
        orphans = sorted(p for p in label_dir.rglob("*.txt") if p not in known) if label_dir.is_dir() else []
    else:
        images = _from_list(where, spec.root)
        labels = [label_path(p) for p in images]
        orphans = []
    return SplitFiles(images, labels, orphans)

"""``data.yaml``: where the images of each split are and what the classes are called.

YOLOv5's layout, plus a ``view_names`` key for the view classifier (the upstream
data's one-hot order is contradictory between files, so view names are always
read from here, never hard-coded). A split is either a folder of images whose
labels live in the sibling ``labels`` folder (the last ``/images/`` of the path
replaced by ``/labels/``), or a ``.txt`` file listing image paths.
"""
from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

import yaml

from .errors import DataError

SPLITS = ("train", "val", "test")
IMG_EXTS = (".png", ".jpg", ".jpeg", ".bmp")


@dataclass(frozen=True)
class DataSpec:
    """A parsed ``data.yaml``; ``splits`` maps train/val(/test) to a folder or ``.txt`` list."""

    yaml_path: Path
    root: Path
    splits: dict[str, Path]
    names: tuple[str, ...]
    view_names: tuple[str, ...]

    @property
    def nc(self) -> int:
        return len(self.names)

    @property
    def n_views(self) -> int:
        return len(self.view_names)


def _names(path: Path, key: str, value) -> tuple[str, ...]:
    if isinstance(value, dict):
        try:
            keys = sorted(int(k) for k in value)
        except (TypeError, ValueError):
            raise DataError(f"{path}: key '{key}': dict keys must be class indices 0..n-1") from None
        if keys != list(range(len(keys))):
            raise DataError(f"{path}: key '{key}': indices {keys} are not 0..{len(keys) - 1}")
        return tuple(str(value[k] if k in value else value[str(k)]) for k in keys)
    if isinstance(value, (list, tuple)) and value:
        return tuple(str(v) for v in value)
    raise DataError(f"{path}: key '{key}': expected a non-empty list of names or an {{index: name}} dict")


def read_data_yaml(path: str | Path) -> DataSpec:
    """Parse and check a ``data.yaml``; every problem is a ``DataError`` naming file and key."""
    path = Path(path).resolve()
    if not path.is_file():
        raise DataError(f"{path}: data.yaml not found")
    try:
        doc = yaml.safe_load(path.read_text(encoding="utf-8"))
    except yaml.YAMLError as e:
        mark = getattr(e, "problem_mark", None)
        where = f"{path}:{mark.line + 1}" if mark is not None else f"{path}"
        raise DataError(f"{where}: YAML syntax error: {getattr(e, 'problem', None) or e}") from None
    if not isinstance(doc, dict):
        raise DataError(f"{path}: expected a mapping with keys train, val, names, view_names")
    for key in ("train", "val", "names", "view_names"):
        if doc.get(key) in (None, ""):
            raise DataError(f"{path}: missing key '{key}'")
    root = Path(doc.get("path") or ".")
    root = (root if root.is_absolute() else path.parent / root).resolve()
    names = _names(path, "names", doc["names"])
    view_names = _names(path, "view_names", doc["view_names"])
    nc = doc.get("nc", len(names))
    if nc != len(names):
        raise DataError(f"{path}: key 'names' has {len(names)} names but key 'nc' says {nc}")
    splits = {}
    for key in SPLITS:
        value = doc.get(key)
        if value in (None, ""):
            continue
        if not isinstance(value, (str, Path)):
            raise DataError(f"{path}: key '{key}': expected one folder or .txt path, got {value!r}")
        split = Path(value)
        split = split if split.is_absolute() else root / split
        if not split.exists():
            raise DataError(f"{path}: key '{key}': split path {split} does not exist")
        splits[key] = split
    return DataSpec(path, root, splits, names, view_names)


def write_data_yaml(path: str | Path, splits: dict[str, str | Path], names, view_names, root: str = ".") -> Path:
    """Write a ``data.yaml`` in the layout ``read_data_yaml`` reads (used by generators and re-splits)."""
    path = Path(path)
    lines = [f"path: {root}"]
    lines += [f"{k}: {splits[k]}" for k in SPLITS if k in splits]
    lines += [f"nc: {len(names)}", f"names: [{', '.join(names)}]", f"view_names: [{', '.join(view_names)}]"]
    path.write_text("\n".join(lines) + "\n", encoding="utf-8")
    return path

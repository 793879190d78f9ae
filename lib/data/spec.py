"""``data.yaml``: where the images of each split are and what the classes are called.

The keys read, as YOLOv5/Ultralytics and the upstream echo project write them:

* ``path``: the data set root (relative to the yaml's folder; default: that folder).
* ``train``, ``val`` (required), ``test`` (optional: one that does not exist is left
  out with a warning): each a folder of images, a ``.txt``
  list of image paths, or a YAML list of either, relative to ``path``. A split
  written ``../x`` that does not exist is looked for as ``x`` under ``path``
  (a Roboflow export's ``train: ../train/images``), as Ultralytics'
  ``check_det_dataset`` does, with a warning.
* ``names`` (list or ``{index: name}``) and ``nc``; with ``nc`` alone the
  classes are ``class0..`` (YOLOv5), with a warning.
* the view classes: ``view_names`` (this project) or ``cls_names`` with
  ``num_cls`` (the upstream project); ``num_cls`` alone gives ``view0..``.
  With none of them the views are counted from the label files
  (``lib.data.datayaml.read_data_yaml``).

Every other key (``roboflow``, ``download``, ...) is ignored, as YOLOv5 does.
``parse_data_yaml`` reads the file only; it never opens a label.
"""
from __future__ import annotations

import warnings
from dataclasses import dataclass
from pathlib import Path

import yaml

from .errors import DataError

SPLITS = ("train", "val", "test")
REQUIRED_SPLITS = ("train", "val")
VIEW_KEYS = ("view_names", "cls_names")  # this project's key, the upstream project's


@dataclass(frozen=True)
class DataSpec:
    """A parsed ``data.yaml``.

    ``splits`` maps train/val(/test) to one or more sources, each an existing folder of
    images or ``.txt`` list; ``view_names`` is empty only between parsing and inference.
    """

    yaml_path: Path
    root: Path
    splits: dict[str, tuple[Path, ...]]
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


def _count(path: Path, doc: dict, key: str) -> int | None:
    n = doc.get(key)
    if n is None:
        return None
    if not isinstance(n, int) or isinstance(n, bool) or n < 1:
        raise DataError(f"{path}: key '{key}': expected a whole number >= 1, got {n!r}")
    return n


def _class_names(path: Path, doc: dict) -> tuple[str, ...]:
    nc = _count(path, doc, "nc")
    if doc.get("names") in (None, ""):
        if nc is None:
            raise DataError(f"{path}: missing key 'names' (the detection classes; or 'nc' for class0..)")
        warnings.warn(f"{path}: no 'names' key: naming the {nc} detection classes class0..class{nc - 1}",
                      stacklevel=3)
        return tuple(f"class{i}" for i in range(nc))
    names = _names(path, "names", doc["names"])
    if nc is not None and nc != len(names):
        raise DataError(f"{path}: key 'names' has {len(names)} names but key 'nc' says {nc}")
    return names


def _view_names(path: Path, doc: dict) -> tuple[str, ...]:
    """The view names, or () when the yaml does not say (they are then counted from the labels)."""
    given = {k: _names(path, k, doc[k]) for k in VIEW_KEYS if doc.get(k) not in (None, "")}
    if len(set(given.values())) > 1:
        raise DataError(f"{path}: keys 'view_names' {list(given['view_names'])} and 'cls_names' "
                        f"{list(given['cls_names'])} disagree: keep one")
    num = _count(path, doc, "num_cls")
    if given:
        key, names = next(iter(given.items()))
        if num is not None and num != len(names):
            raise DataError(f"{path}: key '{key}' has {len(names)} names but key 'num_cls' says {num}")
        return names
    return tuple(f"view{i}" for i in range(num)) if num is not None else ()


def _root(path: Path, doc: dict) -> Path:
    root = Path(str(doc.get("path") or ".")).expanduser()
    return (root if root.is_absolute() else path.parent / root).resolve()


def _source(path: Path, key: str, value, root: Path) -> Path:
    if not isinstance(value, (str, Path)) or str(value) == "":
        raise DataError(f"{path}: key '{key}': expected a folder or .txt path (or a list of them), got {value!r}")
    given = Path(str(value)).expanduser()
    where = (given if given.is_absolute() else root / given).resolve()
    if where.exists():
        return where
    if str(value).startswith("../"):  # Ultralytics: a Roboflow export's ../train/images means <path>/train/images
        retry = (root / str(value)[3:]).resolve()
        if retry.exists():
            warnings.warn(f"{path}: key '{key}': {where} does not exist; using {retry} under 'path' "
                          f"(as Ultralytics resolves '../' splits)", stacklevel=4)
            return retry
        raise DataError(f"{path}: key '{key}': split path {where} does not exist (nor {retry})")
    raise DataError(f"{path}: key '{key}': split path {where} does not exist")


def _splits(path: Path, doc: dict, root: Path) -> dict[str, tuple[Path, ...]]:
    for key in REQUIRED_SPLITS:
        if doc.get(key) in (None, "", []):
            raise DataError(f"{path}: missing key '{key}'")
    splits = {}
    for key in SPLITS:
        value = doc.get(key)
        if value in (None, "", []):
            continue
        values = value if isinstance(value, (list, tuple)) else [value]
        try:
            splits[key] = tuple(_source(path, key, v, root) for v in values)
        except DataError as e:
            if key in REQUIRED_SPLITS:
                raise
            warnings.warn(f"{e}: no {key} split (an export without it is common; train and val are what "
                          "training needs)", stacklevel=3)
    return splits


def parse_data_yaml(path: str | Path) -> DataSpec:
    """Parse and check a ``data.yaml`` (keys only; see the module docstring).

    Raises ``DataError`` naming the file (and line for YAML syntax) and the key."""
    path = Path(path).expanduser().resolve()
    if not path.is_file():
        raise DataError(f"{path}: data.yaml not found")
    try:
        doc = yaml.safe_load(path.read_text(encoding="utf-8-sig"))
    except UnicodeDecodeError as e:
        raise DataError(f"{path}: not UTF-8 text ({e.reason} at byte {e.start})") from None
    except yaml.YAMLError as e:
        mark = getattr(e, "problem_mark", None)
        where = f"{path}:{mark.line + 1}" if mark is not None else f"{path}"
        raise DataError(f"{where}: YAML syntax error: {getattr(e, 'problem', None) or e}") from None
    if not isinstance(doc, dict):
        raise DataError(f"{path}: expected a mapping with keys train, val, names (and view_names or cls_names)")
    names = _class_names(path, doc)
    view_names = _view_names(path, doc)
    root = _root(path, doc)
    return DataSpec(path, root, _splits(path, doc, root), names, view_names)


def write_data_yaml(path: str | Path, splits: dict[str, str | Path], names, view_names, root: str = ".") -> Path:
    """Write a ``data.yaml`` in the layout ``read_data_yaml`` reads (used by generators and re-splits)."""
    path = Path(path)
    lines = [f"path: {root}"]
    lines += [f"{k}: {splits[k]}" for k in SPLITS if k in splits]
    lines += [f"nc: {len(names)}", f"names: [{', '.join(names)}]", f"view_names: [{', '.join(view_names)}]"]
    path.write_text("\n".join(lines) + "\n", encoding="utf-8")
    return path

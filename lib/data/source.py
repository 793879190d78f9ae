"""Which data set a run reads, its fingerprint for the run store, and the in-memory split cache.

``resolve_data(None)`` is the synthetic benchmark (generated once under
``lib.paths.data_root()``); any other value is a ``data.yaml``.
``data_fingerprint`` gives the part of a run's key that stands for its data
*without generating anything*: for the default synthetic set, its
configuration and the generator's source (the set is a pure function of
them); for a data.yaml, the yaml, every label file's bytes and every image's
name and size. ``load_split`` keeps decoded splits for the process, keyed on
the path, split, size and every file's size and modification time, so an
edited file is read again (a long-lived JupyterLab kernel never serves stale data).
"""
from __future__ import annotations

import hashlib
from pathlib import Path

from ..paths import data_root
from .dataset import EchoDataset
from .files import split_files
from .spec import read_data_yaml
from .synthetic import SyntheticConfig, ensure_synthetic

DATA_DIR = Path(__file__).resolve().parent
SYNTHETIC_SOURCES = ("synthetic.py", "synthetic_anatomy.py", "synthetic_doppler.py", "spec.py", "labels.py")


def resolve_data(data: str | None) -> Path:
    """The data.yaml to use: the given one, or the synthetic default (generated and cached once).

    Raises ``FileNotFoundError`` naming a data.yaml that does not exist."""
    if data is None:
        return ensure_synthetic(root=data_root())
    path = Path(data)
    if not path.exists():
        raise FileNotFoundError(f"data.yaml not found: {path}")
    return path


def data_fingerprint(data: str | None) -> str:
    """SHA-256 (hex) standing for the data a run reads; generates nothing."""
    h = hashlib.sha256()
    if data is None:
        h.update(f"synthetic-{SyntheticConfig().short_hash()}".encode())
        for name in SYNTHETIC_SOURCES:
            h.update((DATA_DIR / name).read_bytes())
        return h.hexdigest()
    data_yaml = resolve_data(data)
    spec = read_data_yaml(data_yaml)
    h.update(Path(data_yaml).read_bytes())
    for split, where in sorted(spec.splits.items()):
        h.update(split.encode())
        root = where if where.is_dir() else where.parent
        files = sorted(root.parent.rglob("*")) if where.is_dir() else [where]
        for f in files:
            if f.is_file():
                h.update(str(f.relative_to(root.parent)).encode())
                h.update(f.read_bytes() if f.suffix == ".txt" else str(f.stat().st_size).encode())
    return h.hexdigest()


def _stat_signature(data_yaml: Path, split: str) -> tuple:
    spec = read_data_yaml(data_yaml)
    files = split_files(spec, split)
    out = []
    for p in [Path(data_yaml), *files.images, *files.labels]:
        try:
            st = p.stat()
            out.append((str(p), st.st_size, st.st_mtime_ns))
        except OSError:
            out.append((str(p), None, None))
    return tuple(out)


_SPLITS: dict[tuple, tuple[tuple, EchoDataset]] = {}


def load_split(data_yaml: Path, split: str, imgsz: int) -> EchoDataset:
    """Decoded, letterboxed split, kept in memory while none of its files changes."""
    key = (str(Path(data_yaml).resolve()), split, imgsz)
    signature = _stat_signature(Path(data_yaml), split)
    cached = _SPLITS.get(key)
    if cached is None or cached[0] != signature:
        _SPLITS[key] = (signature, EchoDataset(read_data_yaml(data_yaml), split, imgsz))
    return _SPLITS[key][1]

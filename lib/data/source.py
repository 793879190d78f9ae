"""Which data set a run reads, its fingerprint for the run store, and the in-memory split cache.

``resolve_data(None)`` is the synthetic benchmark (generated once under
``lib.store.paths.data_root()``); any other value is a ``data.yaml``.
``data_fingerprint`` gives the part of a run's key that stands for its data
*without generating anything*: for the default synthetic set, its
configuration and the generator's code (``code_fingerprint`` of
``lib.data.synthetic``: the set is a pure function of them); for a data.yaml,
exactly what the loader reads, in every layout: the yaml's bytes, and per split
every image's and label's path and SHA-256, the label files without an image
and the list lines that name no file. ``load_split`` keeps decoded splits for
the process, and on disk for later processes (runs side by side, the next
report), under the same per-split fingerprint and the code that decodes, so an
edited file is read again (a long-lived JupyterLab kernel never serves stale
data).

Files are hashed every time (a cache of digests did not pay); decoded splits are cached because reading one
back costs a fraction of decoding it, with ``torch.load`` rather than ``joblib.Memory`` (slower to read back
here): ``benchmarks/data_caches.py`` measures all three.
"""
from __future__ import annotations

import hashlib
from pathlib import Path

from ..store.atomic import sha256_file
from ..store.codekey import code_fingerprint
from ..store.paths import cache_root, data_root
from .dataset import EchoDataset
from .datayaml import read_data_yaml
from .files import split_files
from .spec import DataSpec
from .synthetic import SyntheticConfig, ensure_synthetic

SYNTHETIC_MODULES = ("lib.data.synthetic",)  # the code that generates the synthetic set (imports followed)
DECODING_MODULES = ("lib.data.dataset",)     # the code that decodes, letterboxes and parses a split


def resolve_data(data: str | None) -> Path:
    """The data.yaml to use: the given one, or the synthetic default (generated and cached once).

    Raises ``FileNotFoundError`` naming a data.yaml that does not exist."""
    if data is None:
        return ensure_synthetic(root=data_root())
    path = Path(data)
    if not path.exists():
        raise FileNotFoundError(f"data.yaml not found: {path}")
    return path


def _relative(p: Path, root: Path) -> str:
    try:
        return str(p.relative_to(root))
    except ValueError:
        return str(p)


def file_digest(path: Path) -> str:
    """SHA-256 (hex) of the file's bytes, or ``"missing"`` for a file that does not exist."""
    try:
        return sha256_file(path)
    except FileNotFoundError:
        return "missing"


def split_fingerprint(spec: DataSpec, split: str) -> str:
    """SHA-256 (hex) of what loading ``split`` reads: file names relative to the root, and their bytes."""
    files = split_files(spec, split)
    h = hashlib.sha256(f"split {split}\n".encode())
    for img, lbl in zip(files.images, files.labels):
        h.update(f"{_relative(img, spec.root)} {file_digest(img)} {_relative(lbl, spec.root)} "
                 f"{file_digest(lbl)}\n".encode())
    for orphan in files.orphan_labels:
        h.update(f"orphan {_relative(orphan, spec.root)} {file_digest(orphan)}\n".encode())
    for problem in files.problems:
        h.update(f"problem {problem}\n".encode())
    return h.hexdigest()


def data_fingerprint(data: str | None) -> str:
    """SHA-256 (hex) standing for the data a run reads; generates nothing."""
    h = hashlib.sha256()
    if data is None:
        h.update(f"synthetic-{SyntheticConfig().short_hash()}".encode())
        h.update(code_fingerprint(SYNTHETIC_MODULES).encode())
        return h.hexdigest()
    data_yaml = resolve_data(data)
    spec = read_data_yaml(data_yaml)
    h.update(Path(data_yaml).read_bytes())
    for split in sorted(spec.splits):
        h.update(split_fingerprint(spec, split).encode())
    return h.hexdigest()


_SPLITS: dict[tuple, tuple[str, EchoDataset]] = {}
# A split decoded into RAM is also kept on disk (``<cache root>/splits``) when its pixels take at most this many
# bytes (the synthetic benchmark at 128 px: 41 MB for train); bigger ones are decoded in every process.
DISK_CACHE_MAX_BYTES = 512 * 2**20
# cache="auto" keeps a split's frames in RAM up to this many decoded bytes, else in a memory-mapped file
RAM_CACHE_MAX_BYTES = 2**30


def frame_store(cache: str, n_images: int, imgsz: int) -> str:
    """Where ``cache`` (``TrainConfig.cache``) keeps a split of ``n_images`` frames: ram, disk or none."""
    if cache != "auto":
        return cache
    return "ram" if n_images * 3 * imgsz ** 2 <= RAM_CACHE_MAX_BYTES else "disk"


def load_split(data_yaml: Path, split: str, imgsz: int, on_bad_label: str = "error", cache: str = "ram") -> EchoDataset:
    """Letterboxed split, kept while none of the bytes it was read from changes: in memory for the process, and
    for the next process on disk (``_disk_path``: keyed by those bytes, the settings and the code that decodes; a
    split's warnings are given again when it is read back). ``cache`` (auto, ram, disk, none): where its frames
    live (``lib.data.dataset``); "none" decodes each item when it is read."""
    data_yaml = Path(data_yaml).resolve()
    spec = read_data_yaml(data_yaml)
    store = frame_store(cache, len(split_files(spec, split).images), imgsz)
    key = (str(data_yaml), split, imgsz, on_bad_label, store)
    signature = file_digest(data_yaml) + split_fingerprint(spec, split)
    cached = _SPLITS.get(key)
    if cached is None or cached[0] != signature:
        _SPLITS[key] = (signature, _decoded(spec, split, imgsz, on_bad_label, signature, store))
    return _SPLITS[key][1]


def _disk_path(signature: str, split: str, imgsz: int, on_bad_label: str, store: str = "ram") -> Path:
    h = hashlib.sha256(f"{signature} {split} {imgsz} {on_bad_label} {code_fingerprint(DECODING_MODULES)}\n".encode())
    tag = "" if store == "ram" else f"-{store}"
    return cache_root() / "splits" / f"{split}-{imgsz}{tag}-{h.hexdigest()[:24]}.pt"


def _read_back(path: Path) -> EchoDataset | None:
    import torch

    if not path.is_file():
        return None
    try:
        dataset = torch.load(path, weights_only=False)  # written by _decoded only
    except Exception:  # unreadable (another torch, a damaged file): decode again
        return None
    return dataset if isinstance(dataset, EchoDataset) else None


def _frames_whole(dataset: EchoDataset) -> bool:
    """Whether a disk-cached split's frames file opens and holds its frames (one cut short is decoded again)."""
    import numpy as np

    try:
        frames = np.load(dataset.frames_file, mmap_mode="r")
    except (OSError, ValueError):
        return False
    return frames.shape[0] >= len(dataset) and frames.shape[1:] == (3, dataset.imgsz, dataset.imgsz)


def _decoded(spec: DataSpec, split: str, imgsz: int, on_bad_label: str, signature: str,
             store: str = "ram") -> EchoDataset:
    import os

    from ..store.atomic import torch_save

    if store == "none":
        return EchoDataset(spec, split, imgsz, on_bad_label, cache="none")
    path = _disk_path(f"{spec.yaml_path} {signature}", split, imgsz, on_bad_label, store)  # paths are stored
    dataset = _read_back(path)
    if dataset is not None and (store == "ram" or _frames_whole(dataset)):
        dataset.notes.warn()
        return dataset
    if store == "ram":
        dataset = EchoDataset(spec, split, imgsz, on_bad_label)
        if dataset.images.numel() <= DISK_CACHE_MAX_BYTES:
            torch_save(dataset, path)  # atomic: a half-written file is never read
        return dataset
    frames = path.with_suffix(".npy")
    partial = frames.with_name(f"{frames.stem}.{os.getpid()}.partial.npy")  # never read as a cache
    path.parent.mkdir(parents=True, exist_ok=True)
    try:
        dataset = EchoDataset(spec, split, imgsz, on_bad_label, cache="disk", frames_file=partial)
        os.replace(partial, frames)  # complete: only now under the name that is read back
    finally:
        partial.unlink(missing_ok=True)
    dataset.frames_file = str(frames)
    torch_save(dataset, path)  # after the frames: the description never names a file that is not whole
    return dataset

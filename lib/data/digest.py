"""SHA-256 of data files, read once per version of each file.

A run's key covers the bytes of every image and label it reads; hashing a
data set on every key lookup would re-read it for every run of a warm report.
``file_digest`` keeps each digest with the file's size and modification time
(in memory, and in ``<cache root>/file-digests.json`` across processes) and
reuses it while both are unchanged. The status-change time and inode number are
compared too: ``touch -r``, ``cp -p`` or ``rsync -t`` can give new bytes the old
size and modification time, but setting them changes the status-change time,
which no user can set. A file changed within ``RACY_NS`` of being hashed is
hashed again next time: a second write inside the file system's timestamp
granularity leaves its times unchanged (git's "racily clean" entries are
handled the same way).
"""
from __future__ import annotations

import hashlib
import json
import time
from pathlib import Path

from ..store.atomic import write_text
from ..store.paths import cache_root

RACY_NS = 2_000_000_000  # 2 s: coarser than any file system's mtime granularity (FAT: 2 s)
MISSING = "missing"

_memory: dict[str, list] = {}   # path -> [[size, mtime_ns, ctime_ns, inode], hashed_at_ns, sha256]
_loaded_from: set[Path] = set()
_dirty = False


def _store() -> Path:
    return cache_root() / "file-digests.json"


def _load() -> None:
    store = _store()
    if store in _loaded_from:
        return
    _loaded_from.add(store)
    try:
        saved = json.loads(store.read_text(encoding="utf-8"))
    except (OSError, ValueError):
        return  # no cache yet, or a damaged one: everything is hashed again
    if isinstance(saved, dict):
        for path, entry in saved.items():
            if isinstance(entry, list) and len(entry) == 3 and isinstance(entry[0], list):
                _memory.setdefault(path, entry)


def file_digest(path: Path) -> str:
    """SHA-256 (hex) of the file's bytes, or ``"missing"`` for a file that does not exist."""
    global _dirty
    _load()
    try:
        st = path.stat()
    except OSError:
        return MISSING
    key, stat = str(path), [st.st_size, st.st_mtime_ns, st.st_ctime_ns, st.st_ino]
    entry = _memory.get(key)
    if entry is not None and entry[0] == stat and max(st.st_mtime_ns, st.st_ctime_ns) < entry[1] - RACY_NS:
        return entry[2]
    hashed_at = time.time_ns()
    h = hashlib.sha256()
    with open(path, "rb") as f:
        for block in iter(lambda: f.read(1 << 20), b""):
            h.update(block)
    _memory[key] = [stat, hashed_at, h.hexdigest()]
    _dirty = True
    return h.hexdigest()


def save_digests() -> None:
    """Write the digests found so far (merged with what other processes saved), atomically."""
    global _dirty
    if not _dirty:
        return
    store = _store()
    try:
        merged = json.loads(store.read_text(encoding="utf-8"))
        merged = merged if isinstance(merged, dict) else {}
    except (OSError, ValueError):
        merged = {}
    merged.update(_memory)
    write_text(store, json.dumps(merged, separators=(",", ":")))
    _dirty = False

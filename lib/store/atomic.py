"""Atomic file writes: a reader sees the old file or the new one, never half of one.

Write to a temporary file in the same folder, flush and fsync, then
``os.replace`` (atomic on POSIX and Windows for the same filesystem).
"""
from __future__ import annotations

import hashlib
import io
import os
import tempfile
from pathlib import Path

import torch


def _umask() -> int:
    mask = os.umask(0)  # reading the umask means setting it: done once, at import, before any thread writes
    os.umask(mask)
    return mask


UMASK = _umask()


def write_bytes(path: str | Path, data: bytes, durable: bool = True) -> None:
    """``data`` into ``path``, atomically. ``durable=False`` skips the fsync: readers still see the old file or
    the new one, but a power cut right after may lose the new one (for many small files that can be rewritten,
    e.g. a prediction's label files, where an fsync each would cost more than the prediction)."""
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    fd, tmp = tempfile.mkstemp(prefix=f".{path.name}.", suffix=".tmp", dir=path.parent)
    if hasattr(os, "fchmod"):  # mkstemp makes 0600; a written file gets the mode open() would give
        os.fchmod(fd, 0o666 & ~UMASK)
    try:
        with os.fdopen(fd, "wb") as f:
            f.write(data)
            if durable:
                f.flush()
                os.fsync(f.fileno())
        os.replace(tmp, path)
    except BaseException:
        Path(tmp).unlink(missing_ok=True)
        raise


def write_text(path: str | Path, text: str, durable: bool = True) -> None:
    write_bytes(path, text.encode("utf-8"), durable)


def torch_save(obj, path: str | Path) -> None:
    buf = io.BytesIO()
    torch.save(obj, buf)
    write_bytes(path, buf.getvalue())


def sha256_file(path: str | Path) -> str:
    h = hashlib.sha256()
    with open(path, "rb") as f:
        for chunk in iter(lambda: f.read(1 << 20), b""):
            h.update(chunk)
    return h.hexdigest()

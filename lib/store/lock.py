"""One process at a time per run folder: an exclusive file lock held while a run is checked, trained and saved.

Two kinds, chosen by ``$ECHO_MTL_LOCK``:

- unset or ``flock`` (default): ``filelock.FileLock``, the operating system's lock (``flock`` on POSIX,
  ``msvcrt`` on Windows). It is released when its process ends, however it ends. On NFS, Linux maps ``flock`` to
  NFS byte-range locks (NFSv4, or NFSv3 with ``lockd`` running): it works across machines there, but not on
  a mount with ``nolock`` or ``local_lock=all``, where each machine sees only its own locks.
- ``soft``: ``filelock.SoftFileLock``, a marker file created exclusively, for filesystems without working
  locks (some FUSE and object-store mounts, NFS with ``nolock``). A holder that dies leaves its marker: a
  process on the same machine reclaims it (the marker records host and PID), but one on another machine
  cannot tell a dead holder from a slow one and waits; remove ``<store>/.locks/<run>.lock`` by hand once
  that holder is known dead.
"""
from __future__ import annotations

import os
from pathlib import Path

from filelock import BaseFileLock, FileLock, SoftFileLock

KINDS = {"flock": FileLock, "soft": SoftFileLock}


def lock_kind() -> type[BaseFileLock]:
    """The lock class ``$ECHO_MTL_LOCK`` names (``flock`` when unset). Raises ``ValueError`` naming the value."""
    name = os.environ.get("ECHO_MTL_LOCK", "flock") or "flock"
    if name not in KINDS:
        raise ValueError(f"ECHO_MTL_LOCK={name!r}: expected one of {', '.join(KINDS)}")
    return KINDS[name]


def run_lock(path: Path) -> BaseFileLock:
    """An exclusive lock on run folder ``path`` (``<store>/.locks/<run>.lock``, of ``lock_kind``), held while a
    process checks, trains and saves that run. Use as ``with run_lock(path): ...``; it waits as long as the
    holder trains. Each call is a new lock, so two threads of one process wait for each other too."""
    locks = Path(path).parent / ".locks"
    locks.mkdir(parents=True, exist_ok=True)
    return lock_kind()(locks / f"{Path(path).name}.lock")

"""One process at a time per run folder: an exclusive file lock held while a run is checked, trained and saved."""
from __future__ import annotations

from pathlib import Path

from filelock import FileLock


def run_lock(path: Path) -> FileLock:
    """An exclusive lock on run folder ``path`` (``filelock.FileLock`` on ``<store>/.locks/<run>.lock``: ``flock``
    on POSIX, ``msvcrt`` on Windows), held while a process checks, trains and saves that run, and released
    when the process ends, however it ends. Use as ``with run_lock(path): ...``; it waits as long as the
    holder trains. Each call is a new lock, so two threads of one process wait for each other too."""
    locks = Path(path).parent / ".locks"
    locks.mkdir(parents=True, exist_ok=True)
    return FileLock(locks / f"{Path(path).name}.lock")

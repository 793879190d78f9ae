"""One process at a time per run folder: an exclusive file lock held while a run is checked, trained and saved."""
from __future__ import annotations

import contextlib
from pathlib import Path


@contextlib.contextmanager
def run_lock(path: Path):
    """An exclusive lock on one run folder (``fcntl.flock`` on ``<store>/.locks/<run>.lock``), held while a
    process checks, trains and saves that run; released when the process ends, however it ends. Where
    ``fcntl`` does not exist (Windows) runs are not locked: train one report or notebook at a time there."""
    try:
        import fcntl
    except ImportError:
        yield
        return
    locks = path.parent / ".locks"
    locks.mkdir(parents=True, exist_ok=True)
    with open(locks / f"{path.name}.lock", "w") as f:
        fcntl.flock(f, fcntl.LOCK_EX)
        try:
            yield
        finally:
            fcntl.flock(f, fcntl.LOCK_UN)

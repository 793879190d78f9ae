"""The run lock (lib.store.lock): one process or thread at a time per run folder, with either kind of lock."""
import pytest


@pytest.mark.parametrize("kind", ["flock", "soft"])
def test_the_run_lock_lets_one_process_at_a_time_train_a_run(tmp_path, monkeypatch, kind):
    import threading
    import time

    import filelock

    from lib.store.lock import run_lock

    monkeypatch.setenv("ECHO_MTL_LOCK", kind)
    assert isinstance(run_lock(tmp_path / "run-x"), filelock.SoftFileLock if kind == "soft" else filelock.FileLock)

    order = []

    def hold(name, seconds):
        with run_lock(tmp_path / "run-a"):
            order.append(f"{name} in")
            time.sleep(seconds)
            order.append(f"{name} out")

    first = threading.Thread(target=hold, args=("first", 0.5))
    first.start()
    time.sleep(0.1)
    second = threading.Thread(target=hold, args=("second", 0))
    second.start()
    first.join(), second.join()
    assert order == ["first in", "first out", "second in", "second out"]
    with run_lock(tmp_path / "run-b"):  # another run is not held up
        pass


def test_an_unknown_lock_kind_is_named(tmp_path, monkeypatch):
    from lib.store.lock import run_lock

    monkeypatch.setenv("ECHO_MTL_LOCK", "nfs")
    with pytest.raises(ValueError, match="ECHO_MTL_LOCK='nfs': expected one of flock, soft"):
        run_lock(tmp_path / "run-a")


def test_a_soft_lock_left_by_a_killed_process_on_this_host_is_reclaimed(tmp_path, monkeypatch):
    """A holder that dies keeps its marker file; a process on the same host sees the recorded PID is gone."""
    import subprocess
    import sys

    monkeypatch.setenv("ECHO_MTL_LOCK", "soft")
    from lib.store.lock import run_lock

    code = ("import os, sys\nfrom pathlib import Path\nfrom lib.store.lock import run_lock\n"
            f"lock = run_lock(Path({str(tmp_path / 'run-a')!r}))\nlock.acquire()\nos._exit(0)\n")  # dies holding it
    from lib.store.paths import REPO_ROOT

    subprocess.run([sys.executable, "-c", code], check=True, cwd=REPO_ROOT,
                   env={**__import__("os").environ, "ECHO_MTL_LOCK": "soft"})
    assert (tmp_path / ".locks" / "run-a.lock").exists()
    with run_lock(tmp_path / "run-a").acquire(timeout=10):
        pass

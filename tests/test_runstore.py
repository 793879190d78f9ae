"""Run store: stable keys, reuse, damaged entries, atomic writes."""
import json
import os
import warnings

import pytest

from lib.store.atomic import write_text
from lib.config import TrainConfig
from lib.data import SyntheticConfig, ensure_synthetic
from lib.store.runs import MANIFEST, RunStore


@pytest.fixture(scope="module")
def tiny_data(tmp_path_factory):
    return str(ensure_synthetic(SyntheticConfig(n_train=16, n_val=8, n_test=8), root=tmp_path_factory.mktemp("d")))


def cfg(data, **kw):
    return TrainConfig(**{**dict(data=data, imgsz=64, batch_size=8, epochs=1, interference_every=0, threads=1), **kw})


def test_key_is_stable_and_config_sensitive(tiny_data, tmp_path):
    store = RunStore(tmp_path)
    assert store.key(cfg(tiny_data)) == RunStore(tmp_path / "other").key(cfg(tiny_data))
    assert store.key(cfg(tiny_data)) != store.key(cfg(tiny_data, seed=1))
    assert store.key(cfg(tiny_data)) != store.key(cfg(tiny_data, weighting="gradnorm"))


def test_trains_once_then_reuses(tiny_data, tmp_path):
    store = RunStore(tmp_path)
    run = store.get_or_train(cfg(tiny_data), progress=False)
    stamp = os.stat(run.path / "metrics.json").st_mtime_ns
    again = store.get_or_train(cfg(tiny_data), progress=False)
    assert again.path == run.path and os.stat(again.path / "metrics.json").st_mtime_ns == stamp
    assert {"val_mAP50", "test_view_accuracy", "parameters"} <= set(run.metrics)
    assert "test_detection_per_class" in run.tables() and not (run.path / "checkpoint.pt").exists()
    model = run.load_model()
    assert sum(p.numel() for p in model.parameters()) == run.metrics["parameters"]


def test_damaged_entry_is_detected_and_retrained(tiny_data, tmp_path):
    store = RunStore(tmp_path)
    run = store.get_or_train(cfg(tiny_data), progress=False)
    metrics = json.loads((run.path / "metrics.json").read_text())
    (run.path / "metrics.json").write_text(json.dumps({**metrics, "val_mAP50": 0.99}))  # tampered
    with pytest.warns(UserWarning, match="damaged.*metrics.json"):
        assert store.get(cfg(tiny_data)) is None
    fresh = store.get_or_train(cfg(tiny_data), progress=False)
    assert fresh.metrics["val_mAP50"] == metrics["val_mAP50"]


def test_folder_without_manifest_is_not_trusted(tiny_data, tmp_path):
    store = RunStore(tmp_path)
    run = store.get_or_train(cfg(tiny_data), progress=False)
    (run.path / MANIFEST).unlink()  # as if killed before the manifest was written
    assert store.get(cfg(tiny_data)) is None


def test_atomic_write_leaves_no_partial_file(tmp_path, monkeypatch):
    target = tmp_path / "table.csv"
    write_text(target, "old")

    def boom(*a, **k):
        raise OSError("disk full")

    monkeypatch.setattr(os, "replace", boom)
    with pytest.raises(OSError):
        write_text(target, "new")
    assert target.read_text() == "old" and [p.name for p in tmp_path.iterdir()] == ["table.csv"]


def test_an_isolated_run_equals_the_in_process_run(tiny_data, tmp_path):
    """The forkserver child (imports done once in the server) trains exactly what the calling process does."""
    c = cfg(tiny_data, weighting="gradnorm", interference_every=2)
    here = RunStore(tmp_path / "here").get_or_train(c, progress=False)
    child = RunStore(tmp_path / "child").get_or_train(c, progress=False, isolate=True)
    timing = ("seconds", "memory", "time")
    for k, v in here.metrics.items():
        if not any(t in k for t in timing) and isinstance(v, float):
            assert v == child.metrics[k] or (v != v and child.metrics[k] != child.metrics[k]), k
    cols = [c for c in here.history if not c.endswith("time")]
    assert here.history[cols].equals(child.history[cols])


def test_a_failed_isolated_run_names_its_folder(tiny_data, tmp_path):
    import shutil
    from pathlib import Path

    copy = tmp_path / "data"
    shutil.copytree(Path(tiny_data).parent, copy)
    label = sorted(copy.rglob("train/labels/*.txt"))[0]
    label.write_text(label.read_text() + "9 0.5 0.5 0.2 0.2\n")  # a class the data.yaml does not name
    bad = cfg(str(copy / Path(tiny_data).name))
    with pytest.raises(RuntimeError, match=r"training run .* failed \(exit 1\); its folder is kept"):
        RunStore(tmp_path / "s").get_or_train(bad, progress=False, isolate=True)


def test_the_run_lock_lets_one_process_at_a_time_train_a_run(tmp_path):
    import threading
    import time

    from lib.store.lock import run_lock

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


def test_written_files_get_the_mode_a_plain_open_gives(tmp_path):
    import os
    from lib.store import atomic

    write_text(tmp_path / "a.txt", "x")
    assert (tmp_path / "a.txt").stat().st_mode & 0o777 == 0o666 & ~atomic.UMASK


def test_a_relative_run_store_works_for_isolated_runs(tiny_data, tmp_path, monkeypatch):
    monkeypatch.chdir(tmp_path)
    run = RunStore("relative-runs").get_or_train(cfg(tiny_data), progress=False, isolate=True)
    assert run.path == tmp_path / "relative-runs" / run.path.name and (run.path / MANIFEST).is_file()


def test_an_unguarded_script_that_trains_gets_one_clear_error_not_a_hang(tiny_data, tmp_path):
    import subprocess
    import sys

    from lib.store.paths import REPO_ROOT

    script = tmp_path / "unguarded.py"
    script.write_text("from lib.config import TrainConfig\nfrom lib.experiments.methods import fetch\n"
                      f"cfg = TrainConfig(data={tiny_data!r}, imgsz=64, batch_size=8, epochs=1, threads=1)\n"
                      f"fetch({{('a', 0): cfg}}, store=__import__('lib.store.runs').store.runs.RunStore({str(tmp_path / 'r')!r}))\n")
    out = subprocess.run([sys.executable, str(script)], capture_output=True, text=True, timeout=300,
                         env={**os.environ, "PYTHONPATH": str(REPO_ROOT)})
    assert out.returncode != 0
    assert 'if __name__ == "__main__":' in out.stderr and "add that guard" in out.stderr

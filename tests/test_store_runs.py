"""The run store (lib.store.runs): stable keys, reuse, damaged entries quarantined, one training per run across
processes."""
import json
import os

import pytest
import torch

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


def test_damaged_entry_is_quarantined_not_deleted_and_retrained(tiny_data, tmp_path):
    store = RunStore(tmp_path)
    run = store.get_or_train(cfg(tiny_data), progress=False)
    model = (run.path / "model.pt").read_bytes()
    metrics = json.loads((run.path / "metrics.json").read_text())
    (run.path / "metrics.json").write_text(json.dumps({**metrics, "val_mAP50": 0.99}))  # edited by hand
    with pytest.warns(UserWarning, match="damaged.*metrics.json.*moved to") as caught:
        assert store.get(cfg(tiny_data)) is None
    [moved] = (tmp_path / ".quarantine").iterdir()
    assert moved.name.startswith(run.path.name) and str(moved) in str(caught[0].message)
    assert (moved / "model.pt").read_bytes() == model and json.loads((moved / "metrics.json").read_text())["val_mAP50"] == 0.99
    assert not run.path.exists()
    fresh = store.get_or_train(cfg(tiny_data), progress=False)  # trained again
    assert fresh.path == run.path and fresh.metrics["val_mAP50"] == metrics["val_mAP50"]


def test_a_forced_retrain_moves_the_old_run_aside(tiny_data, tmp_path):
    store = RunStore(tmp_path)
    run = store.get_or_train(cfg(tiny_data), progress=False)
    model = (run.path / "model.pt").read_bytes()
    with pytest.warns(UserWarning, match="force=True.*moved to"):
        again = store.get_or_train(cfg(tiny_data), force=True, progress=False)
    [moved] = (tmp_path / ".quarantine").iterdir()
    assert (moved / "model.pt").read_bytes() == model and (again.path / MANIFEST).is_file()


def test_folder_without_manifest_is_not_trusted(tiny_data, tmp_path):
    store = RunStore(tmp_path)
    run = store.get_or_train(cfg(tiny_data), progress=False)
    (run.path / MANIFEST).unlink()  # as if killed before the manifest was written
    assert store.get(cfg(tiny_data)) is None


def test_two_processes_asking_for_one_run_train_it_once(tiny_data, tmp_path):
    """The run lock is a ``filelock.FileLock`` (POSIX and Windows): the second process waits, then reads the run."""
    import subprocess
    import sys

    import filelock

    from lib.store.lock import run_lock
    from lib.store.paths import REPO_ROOT

    assert isinstance(run_lock(tmp_path / "run-x"), filelock.BaseFileLock)
    log = tmp_path / "trained.log"
    script = tmp_path / "ask.py"
    script.write_text(
        "import sys\nfrom lib.config import TrainConfig\nfrom lib.store import runs\n"
        "original = runs.train_into\n"
        "def logged(path, progress=True):\n"
        f"    open({str(log)!r}, 'a').write(path.name + '\\n')\n"
        "    return original(path, progress)\n"
        "runs.train_into = logged\n"
        f"cfg = TrainConfig(data={tiny_data!r}, imgsz=64, batch_size=8, epochs=1, interference_every=0, threads=1)\n"
        f"print(runs.RunStore({str(tmp_path / 'store')!r}).get_or_train(cfg, progress=False).path)\n")
    env = {**os.environ, "PYTHONPATH": str(REPO_ROOT), "OMP_NUM_THREADS": "1"}
    procs = [subprocess.Popen([sys.executable, str(script)], stdout=subprocess.PIPE, text=True, env=env)
             for _ in range(2)]
    paths = [p.communicate(timeout=300)[0].strip() for p in procs]
    assert [p.returncode for p in procs] == [0, 0] and paths[0] == paths[1]
    assert log.read_text().splitlines() == [paths[0].rsplit("/", 1)[-1]]


def test_run_key_covers_the_torch_version_and_resolved_device(tmp_path, monkeypatch):
    from lib.config import TrainConfig
    from lib.store.runs import RunStore, platform_fingerprint

    store, cfg = RunStore(tmp_path / "runs"), TrainConfig()
    assert platform_fingerprint("cpu") == f"device=cpu;torch={torch.__version__}"
    assert platform_fingerprint("auto") == platform_fingerprint("cuda" if torch.cuda.is_available() else "cpu")
    before = store.key(cfg)
    assert store.key(cfg.replace(device="cpu")) != before  # the field itself differs: another key
    monkeypatch.setattr(torch, "__version__", "0.0.0")
    assert store.key(cfg) != before


def test_a_run_trains_under_a_partial_name_and_appears_only_when_complete(tiny_data, tmp_path, monkeypatch):
    from lib.store import runs

    store, c = RunStore(tmp_path), cfg(tiny_data)
    seen = {}
    original = runs.train_into

    def watched(path, progress=True):
        seen.update(path=path, final_exists=store.path(c).exists())
        return original(path, progress)

    monkeypatch.setattr(runs, "train_into", watched)
    run, trained = store.fetch(c, progress=False)
    assert trained and seen == {"path": store.partial_path(c), "final_exists": False}
    assert seen["path"].parent == tmp_path / ".partial" and not seen["path"].exists()
    assert run.path == store.path(c) and (run.path / MANIFEST).is_file()
    again, trained = store.fetch(c, progress=False)
    assert again.path == run.path and not trained


def test_a_run_saved_but_killed_before_its_rename_is_published_not_retrained(tiny_data, tmp_path, monkeypatch):
    from lib.store import runs

    store, c = RunStore(tmp_path), cfg(tiny_data)
    run = store.get_or_train(c, progress=False)
    stamp = os.stat(run.path / "model.pt").st_mtime_ns
    store.partial_path(c).parent.mkdir(exist_ok=True)
    os.rename(run.path, store.partial_path(c))  # as if killed between the manifest and the rename
    monkeypatch.setattr(runs, "train_into", lambda *a, **k: pytest.fail("retrained"))
    again, trained = store.fetch(c, progress=False)
    assert not trained and again.path == run.path and os.stat(again.path / "model.pt").st_mtime_ns == stamp
    assert not store.partial_path(c).exists()


def test_a_folder_under_a_runs_name_without_a_manifest_is_moved_aside_not_deleted(tiny_data, tmp_path):
    store, c = RunStore(tmp_path), cfg(tiny_data)
    store.path(c).mkdir(parents=True)
    (store.path(c) / "notes.txt").write_text("mine")  # not this store's doing
    run, trained = store.fetch(c, progress=False)
    assert trained and (run.path / MANIFEST).is_file()
    [moved] = (tmp_path / ".quarantine").iterdir()
    assert (moved / "notes.txt").read_text() == "mine"

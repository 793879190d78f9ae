"""Run store: stable keys, reuse, damaged entries, atomic writes."""
import json
import os
import warnings

import pytest

from lib.atomic import write_text
from lib.config import TrainConfig
from lib.data import SyntheticConfig, ensure_synthetic
from lib.runstore import MANIFEST, RunStore


@pytest.fixture(scope="module")
def tiny_data(tmp_path_factory):
    return str(ensure_synthetic(SyntheticConfig(n_train=16, n_val=8, n_test=8), root=tmp_path_factory.mktemp("d")))


def cfg(data, **kw):
    return TrainConfig(data=data, imgsz=64, batch_size=8, epochs=1, interference_every=0, threads=1, **kw)


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

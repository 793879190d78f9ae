"""Resuming a run (lib.engine.checkpoint): an interrupted run, or a killed training process, resumes to the
uninterrupted result."""
import signal
import subprocess
import sys
import time
from pathlib import Path

import pandas as pd
import pytest

from lib.config import TrainConfig
from lib.data import SyntheticConfig, ensure_synthetic
from lib.engine.history import TIMING_COLUMNS
from lib.store.runs import MANIFEST, RunStore
from tests.helpers.resume import whole_and_resumed
from tests.helpers.training import small

ROOT = Path(__file__).resolve().parent.parent


@pytest.mark.parametrize("weighting", ["gradnorm", "uw", "dwa", "famo", "pcgrad"])
def test_an_interrupted_run_resumes_to_the_uninterrupted_result(eight_images, tmp_path, weighting):
    """Every stateful weighting (and every generator) is checkpointed: stop after epoch 1, resume, same history."""
    cfg = small(eight_images, imgsz=64, epochs=3, weighting=weighting, eval_every=1, interference_every=1)
    whole, resumed = whole_and_resumed(cfg, tmp_path, 0)
    drop = lambda df: df.drop(columns=[c for c in df if c in TIMING_COLUMNS])  # noqa: E731
    pd.testing.assert_frame_equal(drop(resumed.history), drop(whole.history))
    assert resumed.metrics["val_mAP50"] == whole.metrics["val_mAP50"]


@pytest.mark.parametrize("extra", [{}, pytest.param({"amp": "fp16", "ema_decay": 0.9999, "ema_tau": 10.0},
                                                    marks=pytest.mark.slow)],  # fp16 on the CPU: about 35 s
                         ids=["float32", "fp16-GradScaler-EMA"])
def test_killed_run_resumes_to_the_same_result(tmp_path, extra):
    """SIGKILL a process training a run of the store after its first checkpoint: the run's final name never
    appears; the next request resumes its partial folder and ends identical (with the GradScaler's scale and
    the EMA restored too)."""
    data = str(ensure_synthetic(SyntheticConfig(n_train=48, n_val=8, n_test=8), root=tmp_path / "data"))
    cfg = TrainConfig(data=data, imgsz=64, batch_size=8, epochs=6, interference_every=3, threads=1, weighting="gradnorm",
                      **extra)
    whole = RunStore(tmp_path / "a").get_or_train(cfg, progress=False)

    store = RunStore(tmp_path / "b")
    path, partial = store.path(cfg), store.partial_path(cfg)
    (tmp_path / "cfg.json").write_text(cfg.to_json())
    script = ("from lib.config import TrainConfig\nfrom lib.store.runs import RunStore\n"
              f"import json\ncfg = TrainConfig.from_dict(json.load(open({str(tmp_path / 'cfg.json')!r})))\n"
              f"RunStore({str(store.root)!r}).get_or_train(cfg)\n")
    cmd = [sys.executable, "-c", script]
    proc = subprocess.Popen(cmd, cwd=ROOT, stderr=subprocess.DEVNULL)
    deadline = time.time() + 120
    while not (partial / "checkpoint.pt").exists() and time.time() < deadline and proc.poll() is None:
        time.sleep(0.02)
    proc.send_signal(signal.SIGKILL)
    proc.wait()
    assert (partial / "checkpoint.pt").exists() and not (partial / MANIFEST).exists()
    assert not path.exists() and store.get(cfg) is None  # an unfinished run is never under its name

    again = subprocess.run(cmd, cwd=ROOT, capture_output=True, text=True, check=True)
    assert "resumed from" in again.stderr
    resumed = store.get(cfg)
    assert resumed is not None and not partial.exists()
    drop = lambda df: df.drop(columns=[c for c in df if c in TIMING_COLUMNS])  # noqa: E731
    pd.testing.assert_frame_equal(drop(resumed.history), drop(whole.history))
    pd.testing.assert_frame_equal(drop(resumed.epochs), drop(whole.epochs))
    for k, v in whole.metrics.items():
        if not any(t in k for t in ("seconds", "memory", "per_step", "per_epoch")) and k != "data":
            assert resumed.metrics[k] == v or (v != v and resumed.metrics[k] != resumed.metrics[k]), k

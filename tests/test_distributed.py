"""Data-parallel training (lib.engine.distributed) on the CPU with gloo and 2 processes started by torchrun:
every weighting equals its one-process self on the global batch; under the real training loop the ranks
stay identical, rank 0 writes, and a killed run resumes to the uninterrupted result."""
import json
import os
import shutil
import signal
import subprocess
import sys
import time
from pathlib import Path

import pandas as pd
import pytest
import torch

from lib.data import SyntheticConfig, ensure_synthetic
from lib.engine.history import TIMING_COLUMNS

ROOT = Path(__file__).resolve().parent.parent
TORCHRUN = [sys.executable, "-m", "torch.distributed.run", "--standalone", "--nproc_per_node", "2"]


def env(**extra) -> dict:
    return {**os.environ, "OMP_NUM_THREADS": "1", "PYTHONPATH": str(ROOT), **extra}


def test_two_processes_equal_one_process_on_the_global_batch_for_every_weighting(tmp_path):
    one, two = tmp_path / "one.pt", tmp_path / "two.pt"
    script = str(ROOT / "tests" / "helpers" / "ddp_equivalence.py")
    subprocess.run([sys.executable, script, str(one)], env=env(), check=True, timeout=120, cwd=ROOT)
    proc = subprocess.run([*TORCHRUN, script, str(two)], env=env(ECHO_MTL_CHECK_RANKS="1"), timeout=120, cwd=ROOT,
                          capture_output=True, text=True)
    assert proc.returncode == 0, proc.stderr[-3000:]
    a, b = torch.load(one), torch.load(two)
    assert (a["world_size"], b["world_size"]) == (1, 2)
    assert b["divergence_caught"] is True  # the debug mode's check can fail
    for method, r1 in a["results"].items():
        r2 = b["results"][method]
        for key in ("parameters", "weights", "state"):
            x, y = r1[key].double(), r2[key].double()
            assert x.shape == y.shape, (method, key)
            assert torch.allclose(x, y, rtol=1e-5, atol=1e-5), (method, key, float((x - y).abs().max()))
    moved = a["results"]["gradnorm"]["weights"]
    assert (moved[-1] - moved[0]).abs().max() > 0.1  # the weights the methods read really changed


@pytest.fixture(scope="module")
def data(tmp_path_factory):
    return str(ensure_synthetic(SyntheticConfig(n_train=32, n_val=8, n_test=8, seed=4),
                                root=tmp_path_factory.mktemp("data")))


def train_command(data: str, runs: Path, epochs: int) -> list[str]:
    return [*TORCHRUN, "-m", "lib.train", "--data", data, "--runs", str(runs), "--epochs", str(epochs),
            "--batch-size", "8", "--imgsz", "64", "--threads", "1", "--weighting", "gradnorm", "--eval-every", "1",
            "--bn-calibration-images", "16", "--interference-every", "0", "--no-progress", "--device", "cpu"]


def run_folder(runs: Path) -> Path:
    (folder,) = [p for p in runs.iterdir() if p.is_dir() and not p.name.startswith((".", "cache"))]
    return folder


def without_timings(frame: pd.DataFrame) -> pd.DataFrame:
    return frame.drop(columns=[c for c in frame.columns if c in TIMING_COLUMNS or c.endswith("_time")])


@pytest.mark.slow  # about 40 s: two torchrun launches of YOLOv5WithClassification
def test_torchrun_training_keeps_ranks_identical_and_a_killed_run_resumes_to_the_same_result(data, tmp_path):
    epochs = 6
    whole = subprocess.run(train_command(data, tmp_path / "whole", epochs), env=env(ECHO_MTL_CHECK_RANKS="1"),
                           capture_output=True, text=True, timeout=300, cwd=ROOT)
    assert whole.returncode == 0, whole.stderr[-3000:]
    summary = json.loads(whole.stdout.strip().splitlines()[-1])  # one JSON line, from rank 0 alone
    assert len([line for line in whole.stdout.splitlines() if line.startswith("{")]) == 1
    done = run_folder(tmp_path / "whole")
    assert summary["run"] == str(done)
    metrics = json.loads((done / "metrics.json").read_text())
    assert metrics["world_size"] == 2
    history = pd.read_csv(done / "history.csv")
    assert len(history) == epochs * 32 // 8  # the global batch: 8 images a step, 4 from each rank
    assert history["w_det"].nunique() > 1
    losses = [c for c in history.columns if c.startswith("loss_")]
    assert losses == ["loss_box", "loss_obj", "loss_cls", "loss_det", "loss_view"]  # as one process logs them

    # the same run killed (every process, SIGKILL) once its first checkpoint exists (written after rank 0
    # evaluated: the other ranks must not have drifted from it), then started again
    runs = tmp_path / "killed"
    proc = subprocess.Popen(train_command(data, runs, epochs), env=env(ECHO_MTL_CHECK_RANKS="1"), cwd=ROOT,
                            stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL, start_new_session=True)
    deadline = time.time() + 240
    while time.time() < deadline and not any(runs.glob(".partial/*/checkpoint.pt")):
        time.sleep(0.02)
    # torchrun starts each rank in a session of its own: kill every process whose command names this store
    subprocess.run(["pkill", "-KILL", "-f", str(runs)], check=False)
    os.killpg(proc.pid, signal.SIGKILL)
    proc.wait()
    time.sleep(0.5)
    (partial,) = (runs / ".partial").iterdir()  # a run trains under .partial/ until it is complete
    assert (partial / "checkpoint.pt").exists() and not (partial / "MANIFEST.json").exists()
    assert not [p for p in runs.iterdir() if not p.name.startswith((".", "cache"))]  # nothing published yet
    again = subprocess.run(train_command(data, runs, epochs), env=env(ECHO_MTL_CHECK_RANKS="1"),
                           capture_output=True, text=True, timeout=300, cwd=ROOT)
    assert again.returncode == 0, again.stderr[-3000:]
    assert "resumed from" in again.stderr
    folder = run_folder(runs)
    assert folder.name == partial.name == done.name  # one key: same configuration, data, code and process count
    pd.testing.assert_frame_equal(without_timings(pd.read_csv(folder / "history.csv")), without_timings(history))
    resumed = json.loads((folder / "metrics.json").read_text())
    for key in ("test_mAP50", "test_view_accuracy", "final_w_det", "val_mAP50"):
        assert resumed[key] == metrics[key], key
    shutil.rmtree(tmp_path)


def test_a_checkpoint_of_another_process_count_is_refused(data, tmp_path):
    """One process resuming a 2-process checkpoint would silently change the shards: refused by name."""
    from lib.config import TrainConfig
    from lib.engine.trainer import Trainer

    cfg = TrainConfig(data=data, epochs=2, batch_size=8, imgsz=64, threads=1, interference_every=0,
                      bn_calibration_images=8, device="cpu")
    t = Trainer(cfg, run_dir=tmp_path, progress=False)
    t.save_checkpoint(0)
    state = torch.load(tmp_path / "checkpoint.pt", weights_only=True)
    state["world_size"] = 2
    torch.save(state, tmp_path / "checkpoint.pt")
    with pytest.raises(ValueError, match="written by a run of 2 process"):
        Trainer(cfg, run_dir=tmp_path, progress=False).fit()

"""Checks that need a CUDA GPU (marked ``cuda``; skipped elsewhere). ``bash benchmarks/device_check.sh`` runs them
first on a GPU machine: fp16 with a GradScaler and bf16 for every weighting, the EMA, and SyncBatchNorm under
torchrun where the machine has two GPUs."""
import json
import os
import subprocess
import sys
from pathlib import Path

import pytest
import torch

from lib.config import TrainConfig
from lib.data import SyntheticConfig, ensure_synthetic
from lib.engine.seeding import own_rng, restore_rng
from lib.engine.trainer import Trainer
from lib.weighting import WEIGHTINGS

pytestmark = [pytest.mark.cuda,
              pytest.mark.skipif(not torch.cuda.is_available(), reason="needs a CUDA GPU")]
ROOT = Path(__file__).resolve().parent.parent


@pytest.fixture(scope="module")
def data(tmp_path_factory):
    return str(ensure_synthetic(SyntheticConfig(n_train=16, n_val=8, n_test=8, seed=6),
                                root=tmp_path_factory.mktemp("data")))


def trainer(data, **kw) -> Trainer:
    return Trainer(TrainConfig(**{**dict(data=data, imgsz=128, batch_size=8, interference_every=0,
                                         anchors="default", device="cuda", bn_calibration_images=8), **kw}),
                   progress=False)


@pytest.mark.parametrize("amp", ["fp16", "bf16"])
@pytest.mark.parametrize("weighting", sorted(WEIGHTINGS))
def test_every_weighting_trains_under_cuda_autocast(data, weighting, amp):
    options = {"update_every": 1} if weighting == "upstream_rule" else {}  # its update runs at once
    t = trainer(data, weighting=weighting, amp=amp, memory_format="channels_last", weighting_options=options)
    if t.scaler is not None:
        t.scaler = torch.amp.GradScaler("cuda", init_scale=2.0 ** 8)
    t.model.train()
    before = [p.detach().clone() for p in t.model.parameters()]
    rows = [t.train_step(batch, 0) for batch in t._loader(0)]
    assert all(torch.isfinite(torch.tensor([r["w_det"], r["w_view"]])).all() for r in rows)
    assert all(p.dtype == torch.float32 and p.device.type == "cuda" for p in t.model.parameters())
    moved = sum(not torch.equal(a, p) for a, p in zip(before, t.model.parameters()))
    assert moved > len(before) // 2


def test_fp16_gradnorm_reads_the_norms_of_float32_to_fp16_precision(data):
    rows = {}
    for amp in ("off", "fp16"):
        t = trainer(data, weighting="gradnorm", amp=amp)
        if t.scaler is not None:
            t.scaler = torch.amp.GradScaler("cuda", init_scale=2.0 ** 8)
        t.model.train()
        with own_rng():
            restore_rng(t.rng)
            rows[amp] = t.train_step(next(iter(t._loader(0))), 0)
    assert rows["fp16"]["skipped"] == 0
    for k in ("gradnorm_G0", "gradnorm_G1", "loss_det", "loss_view"):
        assert rows["fp16"][k] == pytest.approx(rows["off"][k], rel=0.05), k


@pytest.mark.parametrize("weighting", ["pcgrad", "gradnorm"])
def test_a_cuda_run_resumes_from_its_checkpoint(data, tmp_path, weighting):
    """Generator states (torch's, NumPy's, PCGrad's) come back as CPU tensors; the run's GPU generator too."""
    first = trainer(data, weighting=weighting, epochs=2, amp="fp16", ema_decay=0.99, ema_tau=5.0)
    first.run_dir = tmp_path
    a = first.fit()
    again = trainer(data, weighting=weighting, epochs=2, amp="fp16", ema_decay=0.99, ema_tau=5.0)
    again.run_dir = tmp_path
    b = again.fit()  # resumes after the last epoch: evaluates the same weights
    assert again.start_epoch == 2
    for k in ("test_mAP50", "test_view_accuracy", "final_w_det"):
        assert a.metrics[k] == b.metrics[k], k


def test_ema_and_evaluation_run_on_the_gpu(data):
    result = trainer(data, weighting="gradnorm", epochs=2, ema_decay=0.9999, ema_tau=10.0, amp="bf16").fit()
    assert next(result.model.parameters()).device.type == "cuda"
    assert result.metrics["val_view_accuracy"] == result.metrics["val_view_accuracy"]  # defined


@pytest.mark.skipif(torch.cuda.device_count() < 2, reason="SyncBatchNorm over NCCL needs two GPUs")
def test_two_gpus_train_with_syncbatchnorm_and_rank_0_evaluates(data, tmp_path):
    cmd = [sys.executable, "-m", "torch.distributed.run", "--standalone", "--nproc_per_node", "2", "-m", "lib.train",
           "--data", data, "--runs", str(tmp_path), "--epochs", "2", "--batch-size", "8", "--imgsz", "128",
           "--device", "cuda", "--amp", "bf16", "--weighting", "gradnorm", "--no-progress"]
    out = subprocess.run(cmd, cwd=ROOT, capture_output=True, text=True, timeout=600,
                         env={**os.environ, "ECHO_MTL_CHECK_RANKS": "1"})
    assert out.returncode == 0, out.stderr[-3000:]
    run = Path(json.loads(out.stdout.strip().splitlines()[-1])["run"])
    assert json.loads((run / "metrics.json").read_text())["world_size"] == 2

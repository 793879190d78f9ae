"""benchmarks/device_check.sh: its CPU fallback runs in `make test`, so the GPU check never rots."""
import json
import os
import subprocess
import sys
from pathlib import Path

import pytest
import torch

ROOT = Path(__file__).resolve().parent.parent


def test_device_check_cpu_fallback_writes_every_figure(tmp_path):
    out = tmp_path / "check.json"
    env = {**os.environ, "PYTHON": sys.executable, "OMP_NUM_THREADS": "1"}
    proc = subprocess.run(["bash", "benchmarks/device_check.sh", "--cpu", "--out", str(out), "--data-root",
                           str(tmp_path / "data")], cwd=ROOT, env=env, capture_output=True, text=True, timeout=600)
    assert proc.returncode == 0, proc.stderr[-3000:]
    result = json.loads(out.read_text())
    assert result["hardware"] == "CPU" and result["settings"]["device"] == "cpu"
    rows = {(r["model"], r["weighting"]): r for r in result["methods"]}
    assert set(rows) == {("shared", w) for w in ("fixed", "equal", "gradnorm", "uw", "dwa", "pcgrad", "cagrad",
                                                 "famo")} | {("dual", "fixed")}
    assert rows[("shared", "fixed")]["vs_fixed"] == 1.0
    for r in rows.values():
        assert r["median_step_s"] > 0 and r["peak_memory_mb"] > 0
        assert abs(r["images_per_second"] * r["median_step_s"] - result["settings"]["batch_size"]) < 1e-6
    assert result["gradnorm_overhead"] == rows[("shared", "gradnorm")]["vs_fixed"]
    assert result["predicted_gpu_profile_minutes"] is None  # nothing is predicted from CPU times ...
    assert result["prediction_arithmetic_minutes_from_cpu_times"] > 0  # ... but the arithmetic ran
    assert result["gpu_profile_runs"] >= 39  # 13 compared configurations x 3 seeds, and more
    assert result["evaluation_seconds_per_image"] > 0


@pytest.mark.skipif(torch.cuda.is_available(), reason="this machine has CUDA: the no-CUDA message cannot show")
def test_device_check_without_cuda_says_so():
    proc = subprocess.run([sys.executable, "-m", "benchmarks.device_check"], cwd=ROOT, capture_output=True,
                          text=True, timeout=120)
    assert proc.returncode == 2 and "no CUDA device; use --cpu" in proc.stderr

"""The training loop: tiny overfits, determinism, bad losses, the command line."""
import json
import math
import subprocess
import sys

import numpy as np
import pandas as pd
import pytest
import torch

from lib.config import TrainConfig
from lib.data import SyntheticConfig, ensure_synthetic, read_data_yaml
from lib.train import TIMING_COLUMNS, NonFiniteLossError, Trainer, train


@pytest.fixture(scope="module")
def eight_images(tmp_path_factory):
    """8 synthetic training images, also used as the validation and test split (an overfit check)."""
    root = tmp_path_factory.mktemp("data")
    yaml_path = ensure_synthetic(SyntheticConfig(n_train=8, n_val=2, n_test=2, p_no_jet=0.0, p_two_jets=0.0,
                                                 seed=3), root=root)
    text = yaml_path.read_text().replace("val: valid/images", "val: train/images").replace("test: test/images",
                                                                                           "test: train/images")
    same = yaml_path.parent / "overfit.yaml"
    same.write_text(text)
    return str(same)


def small(data: str, **kw) -> TrainConfig:
    base = dict(data=data, imgsz=96, batch_size=8, epochs=60, lr=5e-3, warmup_epochs=3, probe_every=0, anchors="default",
                eval_every=1000, threads=2, bn_calibration_images=8)
    base.update(kw)
    return TrainConfig(**base)


@pytest.mark.parametrize("model, weighting", [("shared", "gradnorm"), ("dual", "equal")])
def test_overfits_eight_images(eight_images, model, weighting):
    result = train(small(eight_images, model=model, weighting=weighting), progress=False)
    assert result.metrics["val_mAP50"] > 0.9
    assert result.metrics["val_view_accuracy"] == 1.0


def test_same_seed_same_history_and_metrics(eight_images):
    cfg = small(eight_images, epochs=3, probe_every=2, eval_every=1, weighting="gradnorm")
    a, b = train(cfg, progress=False), train(cfg, progress=False)
    drop = [c for c in a.history if c in TIMING_COLUMNS]
    pd.testing.assert_frame_equal(a.history.drop(columns=drop), b.history.drop(columns=drop))
    pd.testing.assert_frame_equal(a.epochs.drop(columns=[c for c in a.epochs if c in TIMING_COLUMNS]),
                                  b.epochs.drop(columns=[c for c in b.epochs if c in TIMING_COLUMNS]))
    for k, v in a.metrics.items():
        if "seconds" not in k and "memory" not in k and k != "seconds_per_step":
            assert v == b.metrics[k] or (isinstance(v, float) and math.isnan(v) and math.isnan(b.metrics[k])), k


def test_a_nan_loss_stops_training_naming_step_and_task(eight_images, tmp_path, monkeypatch):
    trainer = Trainer(small(eight_images, epochs=2), run_dir=tmp_path, progress=False)
    real = trainer.task_losses

    def poisoned(det_out, cls_out, batch):
        losses, items = real(det_out, cls_out, batch)
        if trainer.step == 1:
            losses[1] = losses[1] * float("nan")
        return losses, items

    monkeypatch.setattr(trainer, "task_losses", poisoned)
    with pytest.raises(NonFiniteLossError, match=r"non-finite cls loss \(nan\) at step 1 \(epoch 2\).*checkpoint"):
        trainer.fit()
    assert (tmp_path / "checkpoint.pt").exists()  # the good epoch 0 is kept


def test_weighting_state_reaches_the_history(eight_images):
    result = train(small(eight_images, epochs=2, weighting="gradnorm", probe_every=1), progress=False)
    h = result.history
    assert np.allclose(h["w_det"] + h["w_cls"], 2.0, atol=1e-5)
    assert h["grad_cos"].between(-1, 1).all() and {"gradnorm_G0", "gradnorm_G1"} <= set(h.columns)


def test_command_line_prints_metrics_json_last(eight_images, tmp_path):
    out = subprocess.run([sys.executable, "-m", "lib.train", "--data", eight_images, "--epochs", "1", "--imgsz", "64",
                          "--batch-size", "8", "--weighting", "gradnorm", "--runs", str(tmp_path), "--no-progress"],
                         capture_output=True, text=True, check=True)
    last = json.loads(out.stdout.strip().splitlines()[-1])
    assert {"mAP50", "mAP50_95", "precision", "recall", "view_accuracy", "view_macro_f1", "parameters",
            "train_seconds"} <= set(last)
    bad = subprocess.run([sys.executable, "-m", "lib.train", "--epochs", "0", "--runs", str(tmp_path)],
                         capture_output=True, text=True)
    assert bad.returncode == 2 and "epochs must be >= 1" in bad.stderr

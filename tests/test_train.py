"""The training loop: tiny overfits, determinism, bad losses, the command line."""
import json
import math
import subprocess
import sys
from pathlib import Path

import numpy as np
import pandas as pd
import pytest
import torch

from lib.config import TrainConfig
from lib.data import SyntheticConfig, ensure_synthetic
from lib.engine.history import TIMING_COLUMNS
from lib.train import train
from lib.engine.nonfinite import NonFiniteLossError
from lib.engine.trainer import Trainer
from tests.helpers.resume import whole_and_resumed


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
    base = dict(data=data, imgsz=96, batch_size=8, epochs=60, lr=5e-3, warmup_epochs=3, interference_every=0, anchors="default",
                eval_every=1000, threads=2, bn_calibration_images=8)
    base.update(kw)
    return TrainConfig(**base)


@pytest.mark.parametrize("model, weighting", [("shared", "gradnorm"), ("dual", "equal")])
def test_overfits_eight_images(eight_images, model, weighting, tmp_path):
    result = train(small(eight_images, model=model, weighting=weighting), runs=tmp_path, progress=False)
    assert result.metrics["val_mAP50"] > 0.9
    assert result.metrics["val_view_accuracy"] == 1.0


def test_same_seed_same_history_and_metrics(eight_images, tmp_path):
    cfg = small(eight_images, epochs=3, interference_every=2, eval_every=1, weighting="gradnorm")
    a, b = (train(cfg, runs=tmp_path / store, progress=False) for store in ("a", "b"))  # two stores: trained twice
    assert a.path != b.path
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

    def poisoned(det_out, view_out, batch):
        losses, items = real(det_out, view_out, batch)
        if trainer.step == 1:
            losses[1] = losses[1] * float("nan")
        return losses, items

    monkeypatch.setattr(trainer, "task_losses", poisoned)
    with pytest.raises(NonFiniteLossError) as e:
        trainer.fit()
    assert (e.value.step, e.value.epoch, e.value.task) == (1, 1, "view") and math.isnan(e.value.value)
    assert str(tmp_path / "checkpoint.pt") in str(e.value)  # names the good checkpoint it kept
    state = torch.load(tmp_path / "checkpoint.pt", weights_only=True)  # the good epoch 0 is kept
    assert state["epoch"] == 0 and state["step"] == trainer.steps_per_epoch
    assert all(torch.isfinite(v).all() for v in state["model"].values() if v.is_floating_point())


def test_weighting_state_reaches_the_history(eight_images, tmp_path):
    result = train(small(eight_images, epochs=2, weighting="gradnorm", interference_every=1), runs=tmp_path,
                   progress=False)
    h = result.history
    assert h.loc[0, ["w_det", "w_view"]].tolist() == [1.0, 1.0]  # the weights the first step used
    assert h["w_det"].iloc[1] != 1.0  # ... then GradNorm moved them
    assert np.allclose(h["w_det"] + h["w_view"], 2.0, atol=1e-5)
    assert (h[["gradnorm_G0", "gradnorm_G1"]] > 0).all().all()
    assert h["grad_cos"].between(-1, 1).all()
    assert result.metrics["final_w_det"] == pytest.approx(h["w_det"].iloc[-1])


def test_command_line_prints_metrics_json_last(eight_images, tmp_path):
    out = subprocess.run([sys.executable, "-m", "lib.train", "--data", eight_images, "--epochs", "1", "--imgsz", "64",
                          "--batch-size", "8", "--weighting", "gradnorm", "--runs", str(tmp_path), "--no-progress"],
                         capture_output=True, text=True, check=True)
    last = json.loads(out.stdout.strip().splitlines()[-1])
    metrics = json.loads((Path(last["run"]) / "metrics.json").read_text())
    for k in ("mAP50", "mAP50_95", "precision", "recall", "view_accuracy", "view_macro_f1"):
        assert isinstance(last[k], float) and last[k] == metrics[f"val_{k}"], k
    assert last["parameters"] == metrics["parameters"] and last["train_seconds"] == metrics["train_seconds"]
    bad = subprocess.run([sys.executable, "-m", "lib.train", "--epochs", "0", "--runs", str(tmp_path)],
                         capture_output=True, text=True)
    assert bad.returncode == 2 and "epochs must be >= 1" in bad.stderr


def test_training_leaves_the_process_as_it_found_it(eight_images):
    """Thread count, deterministic mode and every random generator are the caller's again afterwards."""
    import random

    torch.set_num_threads(2)
    torch.use_deterministic_algorithms(False)
    torch.manual_seed(123)
    np.random.seed(5)
    random.seed(6)
    before = (torch.get_rng_state(), np.random.get_state()[1].copy(), random.getstate())
    Trainer(small(eight_images, epochs=1, threads=1), progress=False).fit()
    assert torch.get_num_threads() == 2 and not torch.are_deterministic_algorithms_enabled()
    assert torch.equal(torch.get_rng_state(), before[0])
    assert (np.random.get_state()[1] == before[1]).all() and random.getstate() == before[2]


def test_environment_roots_are_read_when_called(tmp_path, monkeypatch):
    from lib.store.paths import data_root, runs_root

    monkeypatch.setenv("ECHO_MTL_RUNS", str(tmp_path / "r"))
    monkeypatch.setenv("ECHO_MTL_DATA", str(tmp_path / "d"))
    assert runs_root() == tmp_path / "r" and data_root() == tmp_path / "d"


def test_an_edited_split_is_read_again(tmp_path):
    """The in-memory split cache is keyed on every file's size and mtime, not on the path alone."""
    import os

    from lib.data import load_split

    yaml_path = ensure_synthetic(SyntheticConfig(n_train=4, n_val=2, n_test=2, seed=1), root=tmp_path)
    first = load_split(yaml_path, "val", 64)
    assert load_split(yaml_path, "val", 64) is first  # unchanged files: served from memory
    label = sorted((yaml_path.parent / "valid" / "labels").glob("*.txt"))[0]
    lines = label.read_text().rstrip("\n").split("\n")
    new_view = (first.views[0].item() + 1) % 3
    lines[-1] = " ".join("1" if i == new_view else "0" for i in range(3))
    label.write_text("\n".join(lines) + "\n")
    os.utime(label, ns=(label.stat().st_atime_ns, label.stat().st_mtime_ns + 10**9))
    again = load_split(yaml_path, "val", 64)
    assert again is not first and again.views[0].item() == new_view


@pytest.mark.parametrize("weighting", ["gradnorm", "uw", "dwa", "famo", "pcgrad"])
def test_an_interrupted_run_resumes_to_the_uninterrupted_result(eight_images, tmp_path, weighting):
    """Every stateful weighting (and every generator) is checkpointed: stop after epoch 1, resume, same history."""
    cfg = small(eight_images, imgsz=64, epochs=3, weighting=weighting, eval_every=1, interference_every=1)
    whole, resumed = whole_and_resumed(cfg, tmp_path, 0)
    drop = lambda df: df.drop(columns=[c for c in df if c in TIMING_COLUMNS])  # noqa: E731
    pd.testing.assert_frame_equal(drop(resumed.history), drop(whole.history))
    assert resumed.metrics["val_mAP50"] == whole.metrics["val_mAP50"]


def test_rng_capture_covers_numpy_and_python():
    import random

    from lib.engine.seeding import capture_rng, restore_rng

    state = capture_rng()
    a = (torch.rand(2), np.random.rand(2), random.random())
    restore_rng(state)
    b = (torch.rand(2), np.random.rand(2), random.random())
    assert torch.equal(a[0], b[0]) and (a[1] == b[1]).all() and a[2] == b[2]


def test_a_non_finite_weight_stops_training_naming_the_step(eight_images, tmp_path, monkeypatch):
    """Any weighting: a NaN weight is caught after its backward, before the optimizer steps, naming step and weight."""
    from lib.weighting import StepInfo

    trainer = Trainer(small(eight_images, epochs=2), run_dir=tmp_path, progress=False)
    real = trainer.weighting.backward
    before = {}

    def poisoned(losses, step):
        info = real(losses, step)
        if trainer.step == 1:
            before.update({k: v.clone() for k, v in step.model.state_dict().items()})
            return StepInfo(weights=[info.weights[0], float("nan")], extra=info.extra)
        return info

    monkeypatch.setattr(trainer.weighting, "backward", poisoned)
    with pytest.raises(NonFiniteLossError) as e:
        trainer.fit()
    assert type(e.value).__name__ == "NonFiniteWeightingError" and (e.value.step, e.value.epoch) == (1, 1)
    assert e.value.quantity == "weight w_view" and e.value.weighting == "fixed" and math.isnan(e.value.value)
    after = trainer.model.state_dict()
    assert all(torch.equal(before[k], after[k]) for k in before)  # the optimizer never stepped on it


def test_non_finite_gradnorm_state_stops_training_at_that_step(eight_images, tmp_path, monkeypatch):
    """GradNorm's w turning infinite in its own update stops the step that made it, naming the task's entry."""
    trainer = Trainer(small(eight_images, epochs=2, weighting="gradnorm"), progress=False)
    gn = trainer.weighting
    real = gn.renormalise

    def overflowing():
        real()
        if trainer.step == 0:
            with torch.no_grad():
                gn.w[0] = float("inf")

    monkeypatch.setattr(gn, "renormalise", overflowing)
    with pytest.raises(NonFiniteLossError) as e:
        trainer.fit()
    assert (e.value.weighting, e.value.quantity, e.value.step, e.value.epoch) == ("gradnorm", "updated w[det]", 0, 0)
    assert e.value.value == float("inf") and "checkpoint" not in str(e.value)  # no run folder, no checkpoint


def test_gradnorm_with_a_zero_first_loss_trains_with_finite_weights(eight_images, monkeypatch):
    """A task loss of exactly 0 at step 0: GradNorm waits for its first positive loss (one warning), never NaN."""
    trainer = Trainer(small(eight_images, epochs=3, weighting="gradnorm"), progress=False)
    real = trainer.task_losses

    def zero_first(det_out, view_out, batch):
        losses, items = real(det_out, view_out, batch)
        if trainer.step == 0:
            losses[1] = losses[1] * 0.0
        return losses, items

    monkeypatch.setattr(trainer, "task_losses", zero_first)
    with pytest.warns(RuntimeWarning, match=r"no positive loss yet for task\(s\) view"):
        result = trainer.fit()
    h = result.history
    assert np.isfinite(h[["w_det", "w_view"]].to_numpy()).all()
    assert h.loc[1, ["w_det", "w_view"]].tolist() == [1.0, 1.0]  # step 0 took no GradNorm step
    assert h.loc[2, "w_det"] != 1.0  # step 1 did: L_view(0) is step 1's loss
    assert math.isnan(h.loc[0, "gradnorm_loss"]) and np.isfinite(h["gradnorm_loss"].iloc[1:]).all()


def test_command_line_exits_2_with_one_line_on_a_non_finite_weight(eight_images, tmp_path, monkeypatch, capsys):
    from lib import cli
    from lib.weighting import Fixed, StepInfo

    real = Fixed.backward

    def nan_weight(self, losses, step):
        info = real(self, losses, step)
        return StepInfo(weights=[float("inf"), info.weights[1]], extra=info.extra)

    monkeypatch.setattr(Fixed, "backward", nan_weight)
    code = cli.main(["--data", eight_images, "--epochs", "1", "--imgsz", "64", "--batch-size", "8", "--anchors",
                     "default", "--runs", str(tmp_path), "--no-progress"])
    err = capsys.readouterr().err
    assert code == 2 and err.count("\n") == 1, err
    assert err.startswith("error: non-finite weight w_det (inf) in the fixed weighting at step 0 (epoch 1)"), err


def test_the_test_split_reuses_the_last_validations_batchnorm_statistics(eight_images, monkeypatch):
    """BatchNorm is recalibrated before each validation; the test split, right after the last one, reuses it
    (the weights have not moved) and scores exactly what a fresh recalibration gives."""
    import lib.engine.trainer as trainer_module

    calls = []
    real = trainer_module.recalibrate_batchnorm
    monkeypatch.setattr(trainer_module, "recalibrate_batchnorm", lambda *a, **k: calls.append(1) or real(*a, **k))
    t = Trainer(small(eight_images, epochs=2, eval_every=1), progress=False)
    result = t.fit()
    assert len(calls) == 2  # after epochs 1 and 2; none more for the test split
    t._calibrated_at = None  # force a fresh recalibration
    again = t.evaluate("test").metrics()
    assert len(calls) == 3
    for k, v in again.items():
        assert result.metrics[f"test_{k}"] == v or (v != v and result.metrics[f"test_{k}"] != result.metrics[f"test_{k}"]), k

"""The training loop (lib.engine.trainer): a non-finite value stops it naming the step, it leaves the process as
it found it, the test split reuses the last BatchNorm recalibration."""
import math

import numpy as np
import pytest
import torch

from lib.engine.nonfinite import NonFiniteLossError
from lib.engine.trainer import Trainer
from tests.helpers.training import small


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

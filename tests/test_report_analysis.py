"""Run analysis (lib.report.analysis): the settle epoch, the weight adjustment and per-run rows, on hand-made runs."""
import pytest

from lib.report import analysis
from tests.helpers.fake_runs import fake_run, history


def test_settle_epoch_is_the_logged_epoch_of_the_settle_step():
    # 4 epochs of 3 steps; the weight reaches its final value (within 5%) at step 7, in epoch index 2
    h = history([1, 1.2, 1.4, 1.5, 1.6, 1.7, 1.8, 1.9, 1.9, 1.9, 1.9, 1.9], 4)
    assert analysis.settle_step(h) == 7 and analysis.settle_epoch(h) == 3
    assert analysis.settle_epoch(history([1.0] * 6, 2)) == 1  # never moves: settled in the first epoch
    # the old section-2 rule (step // steps_per_epoch + 1) and section-5 rule (ceil(step / steps_per_epoch))
    # disagree exactly at an epoch boundary; the logged epoch does not
    h = history([1, 1.5, 1.6, 1.9, 1.9, 1.9], 2)
    assert analysis.settle_step(h) == 3 and analysis.settle_epoch(h) == 2
    h["epoch"] += 1  # the seed toy's history counts epochs from 1: the same answer
    assert analysis.settle_epoch(h) == 2 and analysis.settle_epoch(history([1.0] * 6, 2).assign(epoch=[1, 1, 1, 2, 2, 2])) == 1


def test_adjustment_reads_the_last_epoch_from_the_log():
    h = history([1, 1.1, 1.3, 1.3, 1.35, 1.35], 2)
    t = analysis.adjustment(h)
    assert t.loc["det", "steps with a change"] == 3
    assert t.loc["det", "largest |change| in one step"] == pytest.approx(0.2)
    assert t.loc["det", "largest |change| in the last epoch"] == pytest.approx(0.05)


def test_time_per_epoch_divides_by_the_epochs_the_run_trained_not_its_maximum():
    r = fake_run("original", epochs=30)
    r.metrics.update(train_seconds=120.0, peak_memory_mb=1.0, stopped_epoch=12)  # a plateau stopped it at 12
    row = analysis.run_row(r)
    assert row["time per epoch (s)"] == 10.0 and row["epochs trained"] == 12
    del r.metrics["stopped_epoch"]  # a run from before plateau stopping: every epoch trained
    assert analysis.run_row(r)["time per epoch (s)"] == 4.0

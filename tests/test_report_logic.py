"""Report logic that used to live in notebook cells, on hand-made runs with known answers."""
import math
from types import SimpleNamespace

import numpy as np
import pandas as pd
import pytest

from lib.config import TrainConfig
from lib.experiments.methods import gradnorm_label, method
from lib.report import analysis, criteria, findings
from lib.report.comparison import select_on_validation
from lib.report.conclusions import applicability, methods_table
from lib.report.configs import config_table


def history(w_det, epochs, view=None):
    """A per-step history: ``w_det`` per step, w_view = 2 - w_det, ``epochs`` equal epochs."""
    w = np.asarray(w_det, float)
    n = len(w)
    return pd.DataFrame({"epoch": np.repeat(np.arange(epochs), n // epochs), "step": np.arange(n),
                         "w_det": w, "w_view": 2 - w, "loss_det": np.linspace(2, 1, n),
                         "loss_view": np.full(n, 0.5) if view is None else view})


def fake_run(label, seed=0, val=(0.5, 0.8), test=(0.5, 0.8), hist=None, **cfg):
    m = method(label)
    config = TrainConfig(**{**{k: v for k, v in m.items()}, "seed": seed, **cfg})
    metrics = {"val_mAP50": val[0], "val_mAP50_95": val[0] / 2, "val_view_accuracy": val[1],
               "test_mAP50": test[0], "test_mAP50_95": test[0] / 2, "test_view_accuracy": test[1],
               "train_seconds": 10.0, "parameters": 1234, "device": "cpu"}
    return SimpleNamespace(config=config, metrics=metrics, history=hist if hist is not None else history([1.0] * 8, 2))


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


def test_criteria_judge_and_reading():
    crit = {"weight_change_min": 0.1, "settle_epochs_max": 2, "loss_fluctuation_max": 0.05,
            "training_seconds_max": 5}
    moving = criteria.judge(history([1, 1.2, 1.4, 1.5, 1.6, 1.7, 1.8, 1.9, 1.9, 1.9, 1.9, 1.9], 4), 3.0, crit)
    assert moving["detection weight change"] == pytest.approx(0.9) and moving["change > 0.1"]
    assert moving["weights settled in epoch"] == 3 and not moving["settled within 2 epochs"]
    assert moving["time < 5 s"]
    table = pd.DataFrame.from_dict({"a": moving, "b": criteria.judge(history([1.0] * 12, 4), 9.0, crit)},
                                   orient="index")
    text = criteria.reading(table, toy_steps=50)
    assert "change > 0.1: `a`" in text and "settled within 2 epochs: `b`" in text and "50-step toy" in text


def test_one_selection_rule_for_static_weights_and_gradnorm_settings():
    refs = {("det_only", 0): fake_run("det_only", val=(0.5, math.nan)),
            ("view_only", 0): fake_run("view_only", val=(math.nan, 0.8))}
    # Delta-m% on val against (0.5, 0.25, 0.8): static_0.1 has +10% on both detection metrics (one task)
    # and -12.5% view -> (10 - 12.5) / 2
    runs = {**refs, ("static_0.01", 0): fake_run("static_0.01", val=(0.5, 0.6)),
            ("static_0.1", 0): fake_run("static_0.1", val=(0.55, 0.7))}
    best, grid = select_on_validation(runs, ["static_0.01", "static_0.1"])
    assert best == "static_0.1" and grid["selected"].tolist() == [False, True]
    assert grid.loc["static_0.1", "val delta_m %"] == pytest.approx(100 * ((0.1 + 0.1) / 2 - 0.125) / 2)
    labels = [gradnorm_label(1.5), gradnorm_label(1.5, "sgd", 0.1)]
    gruns = {**refs, (labels[0], 0): fake_run(labels[0], val=(0.5, 0.8)), (labels[1], 0): fake_run(labels[1], val=(0.6, 0.8))}
    assert select_on_validation(gruns, labels)[0] == labels[1]


def test_sweep_labels_keep_gradnorms_default_runs_as_the_reports_other_sections_name_them():
    labels = findings.sweep_labels([0.5, 1.5], {"adam": [0.0025, findings.GRADNORM_DEFAULTS["lr"]], "sgd": [1.0]})
    assert labels == ["gradnorm_a0.5_adam0.0025", "gradnorm_a1.5_adam0.0025", "gradnorm_a0.5", "gradnorm_a1.5",
                      "gradnorm_a0.5_sgd1", "gradnorm_a1.5_sgd1"]
    assert method("gradnorm_a1.5") == method("gradnorm")
    assert method("gradnorm_a0.5_sgd1")["weighting_options"] == {"alpha": 0.5, "optimizer": "sgd", "lr": 1.0}


def test_sweep_table_and_its_reading():
    refs = {("det_only", 0): fake_run("det_only", val=(0.5, math.nan)),
            ("view_only", 0): fake_run("view_only", val=(math.nan, 0.8))}
    same_path = [1.0, 1.025, 1.05, 1.075, 1.1, 1.1245, 1.15, 1.17, 1.2, 1.22, 1.2488, 1.25]
    runs = dict(refs)
    cells = {(a, "adam", 0.025): (0.60 + a / 100, same_path) for a in (0.5, 1.5)}
    cells.update({(a, "sgd", 1.0): (0.40 + a / 10, [1.0 + a * k / 100 for k in range(12)]) for a in (0.5, 1.5)})
    labels = []
    for (a, opt, lr), (m, path) in cells.items():
        label = findings.sweep_labels([a], {opt: [lr]})[0]
        labels.append(label)
        runs[(label, 0)] = fake_run(label, val=(m, 0.8), test=(m, 0.8), hist=history(path, 2))
    best, table = findings.sweep_table(runs, labels)
    assert best == "gradnorm_a1.5" and table["selected"].sum() == 1
    assert table.loc[("adam", 0.025, 0.5), "w_det after step 5"] == pytest.approx(1.1245)
    text = findings.sweep_reading(table, {"mAP50": 0.5, "view_accuracy": 0.9})
    # within a setting alpha moves mAP by (0.01 + 0.1) / 2; across settings: alpha 0.5 0.605 - 0.45, alpha 1.5
    # 0.615 - 0.55, mean (0.155 + 0.065) / 2
    assert "alpha moves test mAP@0.5 by 0.055" in text and "it moves by 0.110" in text
    assert "1 of 2 optimizer/learning-rate settings (adam lr 0.025)" in text
    assert "selects adam with lr 0.025 and alpha 1.5" in text
    assert "detects better in 3 of 4 settings" in text and "classifies views better in 0 of 4" in text
    assert "reading on detection depends on the setting (GradNorm ahead only with adam lr 0.025 alpha 0.5" in text
    assert "reading on view accuracy survives every setting (GradNorm behind)" in text


def test_applicability_reads_the_interval_pareto_set_and_the_cost_with_tuning_and_names_no_winner():
    cost = pd.DataFrame({"settings": [1, 5, 5], "runs": [3, 7, 7], "training process-hours": [0.5, 2.0, 1.0]},
                        index=["original", "gradnorm", "static"])
    text = applicability(["gradnorm", "static"], {"original": ["static"]}, cost)
    assert "`gradnorm`, `static`." in text and "**Dominated**: `original` by `static`." in text
    assert "training with tuning): `static` (1.00 process-hours over 7 runs)" in text
    assert "best" not in text.replace("better", "")
    assert "none; the runs cannot tell the rows apart" in applicability(["a", "b"], {}, cost)


def test_methods_table():
    t = methods_table(["original", "gradnorm_a0.5_sgd1", "uw@lr=0.004"])
    assert t.loc["original", "options"] == "weights=[1.0, 0.01]"
    assert t.loc["gradnorm_a0.5_sgd1", "options"] == "alpha=0.5, optimizer=sgd, lr=1.0"
    assert t.loc["uw@lr=0.004", "options"] == "defaults" and t.loc["uw@lr=0.004", "training settings"] == "lr=0.004"
    assert t.loc["original", "training settings"] == "the profile's"


def test_configuration_table_comes_from_the_stored_configs():
    runs = {"original": fake_run("original", epochs=3), "gradnorm": fake_run("gradnorm", epochs=3)}
    t = config_table(runs)
    assert t.loc["epochs", "all runs"] == 3 and t.loc["epochs", "original"] == ""
    assert t.loc["weighting", "original"] == "fixed" and t.loc["weighting", "gradnorm"] == "gradnorm"
    assert t.loc["interference_every", "all runs"] == TrainConfig().interference_every
    assert t.loc["steps per epoch (measured)", "gradnorm"] == 4 and t.loc["parameters (counted)", "original"] == 1234


def test_time_per_epoch_divides_by_the_epochs_the_run_trained_not_its_maximum():
    r = fake_run("original", epochs=30)
    r.metrics.update(train_seconds=120.0, peak_memory_mb=1.0, stopped_epoch=12)  # a plateau stopped it at 12
    row = analysis.run_row(r)
    assert row["time per epoch (s)"] == 10.0 and row["epochs trained"] == 12
    del r.metrics["stopped_epoch"]  # a run from before plateau stopping: every epoch trained
    assert analysis.run_row(r)["time per epoch (s)"] == 4.0

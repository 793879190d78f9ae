"""Selection on validation (lib.report.comparison): one rule for static weights and GradNorm settings."""
import math

import pytest

from lib.experiments.methods import gradnorm_label
from lib.report.comparison import select_on_validation
from tests.helpers.fake_runs import fake_run


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

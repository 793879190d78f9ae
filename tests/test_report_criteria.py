"""The toy's criteria (lib.report.criteria): each judged and read on hand-made histories."""
import pandas as pd
import pytest

from lib.report import criteria
from tests.helpers.fake_runs import history


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

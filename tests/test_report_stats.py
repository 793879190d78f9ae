"""Known answers for the intervals, Delta-m% and their display (lib.report.stats)."""
import math

import numpy as np
import pytest

from lib.report.stats import (bounds_of, delta_m, format_ci, format_number, mean_ci,
                              relative_change)


def test_mean_ci_is_the_student_t_interval():
    mean, low, high = mean_ci([1.0, 2.0, 3.0])
    half = 4.3026527297 * 1.0 / math.sqrt(3)  # t_{0.975, 2} * s / sqrt(n), s = 1
    assert mean == 2.0
    assert (low, high) == pytest.approx((2.0 - half, 2.0 + half), rel=1e-9)


def test_mean_ci_of_one_run_has_no_interval_and_ignores_missing_values():
    assert mean_ci([0.5, math.nan])[0] == 0.5
    assert all(math.isnan(v) for v in mean_ci([0.5, math.nan])[1:])
    assert all(math.isnan(v) for v in mean_ci([]))


def test_delta_m_averages_each_task_before_the_tasks():
    ref = {"mAP50": 0.5, "mAP50_95": 0.2, "view_accuracy": 0.8}
    tasks = {"det": {"mAP50": True, "mAP50_95": True}, "view": {"view_accuracy": True}}
    # detection +10% and +20% -> +15% for the task; view -25%: (15 - 25) / 2 = -5%
    # (the mean over the three metrics would be (10 + 20 - 25) / 3 = +1.67%)
    assert delta_m({"mAP50": 0.55, "mAP50_95": 0.24, "view_accuracy": 0.6}, ref, tasks) == pytest.approx(-5.0)
    # a lower-is-better metric counts a decrease as a gain
    assert delta_m({"loss": 0.5}, {"loss": 1.0}, {"t": {"loss": False}}) == pytest.approx(50.0)
    assert math.isnan(delta_m({"mAP50": 0.5}, {}, {"det": {"mAP50": True}}))
    assert math.isnan(delta_m({"mAP50": 0.5}, {"mAP50": 0.0}, {"det": {"mAP50": True}}))
    with pytest.raises(ValueError, match="'det' has no metrics"):
        delta_m({}, {}, {"det": {}})


def test_format_ci_cuts_bounded_metrics_only():
    assert format_ci(0.98, 0.93, 1.03, bounds=bounds_of("view_accuracy")) == "0.980 [0.930, 1.000†]"
    assert format_ci(-0.05, -1.2, 0.3, bounds=bounds_of("mean grad cosine")) == "-0.050 [-1.000†, 0.300]"
    assert format_ci(0.5, 0.2, 0.8, bounds=bounds_of("view_accuracy")) == "0.500 [0.200, 0.800]"  # inside: no mark
    assert bounds_of("delta_m %") is None
    assert format_ci(-0.2, -20.5, 20.1, 1, bounds_of("delta_m %")) == "-0.2 [-20.5, 20.1]"
    assert format_ci(0.7, math.nan, math.nan) == "0.700"
    assert format_ci(0.7, 0.7, 0.7) == "0.700"  # identical runs: no spread to show
    assert format_ci(math.nan, math.nan, math.nan) == "n/a"


def test_undefined_values_read_n_a_for_readers():
    """NaN (or null read back from JSON) is an undefined metric: "n/a", never "nan", "+nan%" or an error."""
    for undefined in (math.nan, None, np.float32("nan")):
        assert format_ci(undefined, math.nan, math.nan) == "n/a"
        assert format_number(undefined) == "n/a" and format_number(undefined, "+.3f") == "n/a"
        assert relative_change(undefined, 0.5) == "n/a" and relative_change(0.5, undefined) == "n/a"
    assert format_ci(0.5, None, None) == "0.500"
    assert format_number(0.25) == "0.250" and format_number(-0.05, "+.3f") == "-0.050"
    assert relative_change(0.55, 0.5) == "+10.0%" and relative_change(0.5, 0.0) == "n/a"

"""Known answers for paired comparisons, Holm's adjustment and the Pareto set read from intervals."""
import math

import numpy as np
import pandas as pd
import pytest
from scipy import stats

from lib.report.paired import holm, paired_tests
from lib.report.pareto import pareto_from_intervals


def test_holm_known_answer():
    # sorted 0.005, 0.01, 0.03, 0.04 -> x4, x3, x2, x1 = 0.02, 0.03, 0.06, 0.04 -> running max 0.02, 0.03, 0.06, 0.06
    assert holm([0.01, 0.04, 0.03, 0.005]) == pytest.approx([0.03, 0.06, 0.06, 0.02])
    # NaN is not a comparison made: m = 2; adjusted values are capped at 1
    out = holm([0.01, math.nan, 0.04])
    assert out[0] == pytest.approx(0.02) and math.isnan(out[1]) and out[2] == pytest.approx(0.04)
    assert holm([0.6, 0.7]) == pytest.approx([1.0, 1.0])
    assert len(holm([])) == 0


def tidy(per_method: dict, seeds=range(5), **extra) -> pd.DataFrame:
    rows = [{"method": m, "seed": s, **{k: v[i] for k, v in metrics.items()}}
            for m, metrics in per_method.items() for i, s in enumerate(seeds)]
    out = pd.DataFrame(rows)
    for k, v in extra.items():
        out[k] = v
    return out


BASE = np.array([0.50, 0.52, 0.48, 0.51, 0.49])
NOISE = np.array([0.03, -0.02, 0.01, -0.03, 0.01])  # sums to 0


def test_paired_tests_against_a_hand_computed_t_test_and_holm():
    d = np.array([0.1, 0.2, 0.3, 0.4, 0.5]) / 10  # paired differences of "a" on mAP50
    table = tidy({"static": {"mAP50": BASE, "view_accuracy": BASE},
                  "a": {"mAP50": BASE + d, "view_accuracy": BASE + NOISE}})
    out = paired_tests(table, ["a"], {"static": ["mAP50", "view_accuracy"]}).set_index("metric")
    # t = mean / (s / sqrt(n)) with n - 1 = 4 degrees of freedom, by hand
    t = d.mean() / (d.std(ddof=1) / math.sqrt(5))
    p = 2 * stats.t.sf(t, 4)
    half = stats.t.ppf(0.975, 4) * d.std(ddof=1) / math.sqrt(5)
    row = out.loc["mAP50"]
    assert row["n"] == 5 and row["difference"] == pytest.approx(0.03)
    assert (row["low"], row["high"]) == pytest.approx((0.03 - half, 0.03 + half))
    assert row["p"] == pytest.approx(p)
    p_view = out.loc["view_accuracy", "p"]  # noise around zero: mean difference 0, p = 1
    assert p_view == pytest.approx(1.0)
    assert row["p_holm"] == pytest.approx(2 * p)  # the smaller of two p-values is doubled
    assert row["status"] == "established" and out.loc["view_accuracy", "status"] == "not established"
    assert row["converged"] is None


def test_holm_turns_a_lone_significant_result_into_not_established_in_a_larger_family():
    d = np.array([0.02, 0.05, 0.01, 0.04, 0.03]) / 10  # p about 0.01 alone
    metrics = {k: BASE for k in ("m1", "m2", "m3", "m4", "m5", "m6")}
    table = tidy({"ref": metrics, "a": {**metrics, "m1": BASE + d,
                                        **{k: BASE + NOISE for k in ("m2", "m3", "m4", "m5", "m6")}}})
    alone = paired_tests(table, ["a"], {"ref": ["m1"]}).iloc[0]
    family = paired_tests(table, ["a"], {"ref": list(metrics)}).set_index("metric").loc["m1"]
    assert alone["p"] < 0.05 and alone["status"] == "established"
    assert family["p_holm"] == pytest.approx(6 * alone["p"]) and family["status"] == "not established"


def test_paired_tests_withhold_with_the_reason():
    d = np.array([0.1, 0.2, 0.3, 0.4, 0.5])
    table = tidy({"ref": {"x": BASE}, "a": {"x": BASE + d}}, converged=[True] * 9 + [False])
    row = paired_tests(table, ["a"], {"ref": ["x"]}).iloc[0]
    assert row["status"] == "withheld" and row["reason"] == "run not converged: a seed 4"
    assert row["converged"] is not None and not row["converged"]
    three = tidy({"ref": {"x": BASE[:3]}, "a": {"x": BASE[:3] + [0.20, 0.21, 0.22]}}, seeds=range(3))
    row = paired_tests(three, ["a"], {"ref": ["x"]}).iloc[0]
    assert row["status"] == "withheld" and row["reason"] == "n = 3 seeds < 5" and row["n"] == 3
    assert paired_tests(three, ["a"], {"ref": ["x"]}, min_n=3).iloc[0]["status"] == "established"


def test_a_tuned_row_that_selected_the_other_rows_setting_is_named_as_the_same_runs():
    """The full profile's static weight selected weight 1, original's configuration: the comparison is of a
    run with itself, withheld as such rather than as a t test without spread."""
    table = tidy({"original": {"x": BASE}, "static": {"x": BASE}, "a": {"x": BASE + [0.1, 0.3, 0.2, 0.4, 0.5]}})
    table["run"] = [f"{'original' if m in ('original', 'static') else m}-s{s}" for m, s in zip(table["method"], table["seed"])]
    rows = paired_tests(table, ["original", "a"], {"static": ["x"]}).set_index("method")
    assert rows.loc["original", "status"] == "withheld" and rows.loc["original", "reason"].startswith("the same runs")
    assert rows.loc["a", "status"] == "established" and rows.loc["a", "p_holm"] == rows.loc["a", "p"]  # m = 1


def test_paired_tests_pair_by_common_seeds_only():
    a = tidy({"a": {"x": BASE + [0.1, 0.2, 0.3, 0.4, 0.5]}})
    ref = tidy({"ref": {"x": np.r_[BASE[2:], 0.0, 0.0]}}, seeds=range(2, 7))  # seeds 2..6
    row = paired_tests(pd.concat([a, ref]), ["a"], {"ref": ["x"]}, min_n=3).iloc[0]
    assert row["n"] == 3 and row["difference"] == pytest.approx(0.4)  # seeds 2, 3, 4: 0.3, 0.4, 0.5


def test_paired_tests_name_bad_input():
    table = tidy({"a": {"x": BASE}})
    with pytest.raises(ValueError, match=r"lacks columns \['y'\]"):
        paired_tests(pd.concat([table, table.assign(method="ref")]), ["a"], {"ref": ["y"]})
    with pytest.raises(ValueError, match=r"no runs of \['ref'\]"):
        paired_tests(table, ["a"], {"ref": ["x"]})
    with pytest.raises(ValueError, match="several rows"):
        paired_tests(pd.concat([table, table, table.assign(method="ref")]), ["a"], {"ref": ["x"]})


def test_pareto_from_intervals_a_clear_dominance_and_an_overlap():
    d = np.array([0.1, 0.2, 0.3, 0.4, 0.5]) / 10
    table = tidy({
        "best": {"det": BASE + 2 * d, "view": BASE + 2 * d},
        "worse": {"det": BASE, "view": BASE},             # below "best" on both, every seed: dominated
        "close": {"det": BASE + 2 * d + NOISE + 0.001, "view": BASE + 2 * d + 0.001},  # ahead on means only
        "det_only": {"det": BASE + 3 * d, "view": BASE - 0.2},  # better det, far worse view: a trade-off
    })
    front, by = pareto_from_intervals(table, ["best", "worse", "close", "det_only"], "det", "view")
    assert front == ["best", "close", "det_only"]
    assert by == {"worse": ["best", "close"]}
    # read from means, "close" is ahead of "best" on both (by 0.001): a front of means would drop "best"
    means = table.groupby("method")[["det", "view"]].mean()
    assert (means.loc["close"] > means.loc["best"]).all()


def test_pareto_from_intervals_with_one_seed_dominates_nothing():
    table = tidy({"a": {"x": [0.9], "y": [0.9]}, "b": {"x": [0.1], "y": [0.1]}}, seeds=[0])
    assert pareto_from_intervals(table, ["a", "b"], "x", "y") == (["a", "b"], {})
    with pytest.raises(ValueError, match=r"no runs of \['c'\]"):
        pareto_from_intervals(table, ["a", "c"], "x", "y")

"""Known answers for the intervals, Delta-m% and their display."""
import math

import numpy as np
import pandas as pd
import pytest

from lib.report.section import Section
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


def test_tables_show_n_a_but_their_csv_keeps_an_empty_cell(tmp_path):
    sec = Section("00_test", output_dir=str(tmp_path))
    df = pd.DataFrame({"mAP50": [math.nan, 0.5], "view_accuracy": [0.8, 0.9]}, index=pd.Index(["a", "b"], name="method"))
    shown = sec.table(df, "metrics")
    assert "n/a" in repr(shown) and "NaN" not in repr(shown)
    assert "<td>n/a</td>" in shown._repr_html_() and "NaN" not in shown._repr_html_()
    pd.testing.assert_frame_equal(pd.DataFrame(shown), df)  # the values are untouched, NaN included
    assert type(shown[["mAP50"]]) is pd.DataFrame  # anything computed from it is a plain frame
    assert (tmp_path / "00_test" / "tables" / "metrics.csv").read_text().splitlines() == [
        "method,mAP50,view_accuracy", "a,,0.8", "b,0.5,0.9"]


@pytest.mark.parametrize("value, shown", [
    (448324.0, "448,324"), (448324, "448,324"), (143.994684, "144"), (4.515913e-44, "4.52e-44"),
    (0.565774, "0.5658"), (12.3456, "12.35"), (2.0, "2"), (0.0, "0"), (-0.0123, "-0.0123"),
    (math.nan, "n/a"), (None, "n/a"), (True, "yes"), (np.bool_(False), "no"), ("GradNorm", "GradNorm"),
    (np.int64(12345), "12,345"), (np.float32(0.25), "0.25"), (0.0005, "0.0005"), (7.936083721222e12, "7.94e+12"),
    (7936083721222, "7.94e+12"), (6.996e44, "7.00e+44"),
])
def test_cells_are_written_for_a_reader(value, shown):
    from lib.report.tables import format_value

    assert format_value(value) == shown


def test_a_table_is_formatted_for_the_reader_while_its_csv_keeps_every_digit(tmp_path):
    sec = Section("00_test", output_dir=str(tmp_path))
    df = pd.DataFrame({"final": [448324.0, 143.994684, 4.515913e-44, math.nan]},
                      index=["parameters", "training time (s)", "w_det", "not applicable"])
    shown = sec.table(df, "core")
    html, text = shown._repr_html_(), repr(shown)
    for cell in ("448,324", "144", "4.52e-44", "n/a"):
        assert cell in html and cell in text
    assert "448324.000000" not in html and "NaN" not in html and "e-44" in text
    back = pd.read_csv(tmp_path / "00_test" / "tables" / "core.csv", index_col=0)
    assert back.loc["training time (s)", "final"] == 143.994684 and back.loc["w_det", "final"] == 4.515913e-44


def test_a_table_written_without_its_index_is_shown_without_it(tmp_path):
    sec = Section("00_test", output_dir=str(tmp_path))
    shown = sec.table(pd.DataFrame({"method": ["a", "b"], "lr": [0.025, 1.0]}), "t", index=False)
    assert "<th>0</th>" not in shown._repr_html_()
    assert [line.split()[0] for line in repr(shown).splitlines()] == ["method", "a", "b"]  # no row numbers
    swept = sec.table(pd.DataFrame({"x": [1.5]}, index=pd.MultiIndex.from_tuples([("adam", 0.025)], names=["opt", "lr"])), "s")
    assert "0.025" in repr(swept) and "0.0250" not in repr(swept)


def test_a_rebuilt_section_keeps_nothing_from_an_earlier_build(tmp_path):
    Section("00_test", output_dir=str(tmp_path)).table(pd.DataFrame({"a": [1]}), "old_table")
    Section("00_test", output_dir=str(tmp_path)).table(pd.DataFrame({"a": [1]}), "new_table")
    assert sorted(p.name for p in (tmp_path / "00_test" / "tables").iterdir()) == ["new_table.csv"]

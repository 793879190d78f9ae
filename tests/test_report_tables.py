"""Tables as a reader sees them (lib.report.tables), while the CSV that ``Section.table`` writes keeps every digit."""
import math

import numpy as np
import pandas as pd
import pytest

from lib.report.section import Section


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

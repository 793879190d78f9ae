"""Figures that carry a reading (lib.report.figures): what they draw, not how it looks."""
import matplotlib

matplotlib.use("Agg")
import pandas as pd  # noqa: E402

from lib.report import figures  # noqa: E402


def test_the_pareto_set_is_not_joined_and_unconverged_rows_are_hollow_and_named():
    numbers = pd.DataFrame({"mAP50": [0.5, 0.6, 0.4], "view_accuracy": [0.9, 0.8, 0.95],
                            "mAP50 low": [0.4, 0.5, 0.3], "mAP50 high": [0.6, 0.7, 0.5],
                            "view_accuracy low": [0.85, 0.7, 0.9], "view_accuracy high": [0.95, 0.9, 1.0]},
                           index=["a", "b", "c"])
    front = pd.Series({"a": True, "b": True, "c": True})  # overlapping intervals: every row in the set
    fig = figures.pareto(numbers, front=front, unconverged={"c"})
    ax = fig.axes[0]
    assert not [ln for ln in ax.lines if ln.get_linestyle() not in ("None", "none", "") and len(ln.get_xdata()) > 1]
    faces = {tuple(ln.get_xdata()): ln.get_markerfacecolor() for ln in ax.lines if ln.get_marker() == "o"}
    assert faces[(0.4,)] == "none" and faces[(0.5,)] != "none"
    assert {t.get_text() for t in ax.texts} == {"a", "b", "c (not converged)"}

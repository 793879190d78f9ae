"""Per-class AP and detectability (lib.report.per_class), on run folders written here with known tables."""
import math
from types import SimpleNamespace

import pandas as pd
import pytest

from lib.report import per_class


class FakeRun(SimpleNamespace):
    def table(self, name, index_col=0):
        assert name == "test_detection_per_class"
        return self.per_class


def run(task="both", **ap50):
    t = pd.DataFrame({"AP50": ap50, "AP50_95": {c: v / 2 for c, v in ap50.items()},
                      "n_gt": {c: 10 for c in ap50}}).rename_axis("class")
    return FakeRun(config=SimpleNamespace(task=task), per_class=t)


def runs():
    out = {}
    for s in range(3):
        e = 0.01 * s
        out[("det_only", s)] = run("det", AR=0.8 + e, MR=0.7 + e, PR=0.02 + e / 10, TR=0.9)
        out[("original", s)] = run(AR=0.6 + e, MR=0.5, PR=0.0, TR=0.7)
        out[("view_only", s)] = run("view", AR=math.nan, MR=math.nan, PR=math.nan, TR=math.nan)
    return out


def test_a_class_detection_alone_does_not_find_is_not_detectable_and_the_reading_says_so():
    tidy = per_class.per_class(runs())
    assert set(tidy["method"]) == {"det_only", "original"}  # no detection in view_only
    table = per_class.detectability(tidy)
    assert per_class.detectable_classes(table) == ["AR", "MR", "TR"]
    assert table.loc["PR", "det_only AP50"] == pytest.approx(0.021)
    text = per_class.reading(table)
    assert text.startswith("Not detectable in these runs: PR (0.021, 10 boxes)")
    assert "mean AP50 over AR, MR, TR" in text


def test_the_detectable_map_averages_only_the_detectable_classes():
    values = per_class.with_detectable_map(runs(), ["AR", "MR", "TR"])
    assert values[("original", 0)] == pytest.approx((0.6 + 0.5 + 0.7) / 3)
    assert math.isnan(values[("view_only", 0)])


def test_the_per_class_table_has_one_cell_per_row_and_class_with_its_interval():
    table = per_class.per_class_table(per_class.per_class(runs()))
    assert list(table.index) == ["det_only", "original"] and list(table.columns) == ["AR", "MR", "PR", "TR"]
    assert table.loc["original", "MR"].startswith("0.500")


def test_every_class_detectable_keeps_map50_and_no_reference_is_an_error():
    table = per_class.detectability(per_class.per_class(runs()), threshold=0.01)
    assert per_class.reading(table, 0.01).startswith("Every jet class is detectable")
    with pytest.raises(ValueError, match="no runs of 'det_only'"):
        per_class.detectability(per_class.per_class({k: r for k, r in runs().items() if k[0] != "det_only"}))


def test_the_verdicts_compare_detection_over_detectable_classes_only_when_one_is_not():
    classes, values = per_class.detection_for_verdicts(runs())
    assert classes == ["AR", "MR", "TR"] and values[("original", 1)] == pytest.approx((0.61 + 0.5 + 0.7) / 3)
    found = {k: r for k, r in runs().items()}
    for k, r in found.items():
        r.per_class.loc["PR", "AP50"] = 0.5
    assert per_class.detection_for_verdicts(found) == (None, None)

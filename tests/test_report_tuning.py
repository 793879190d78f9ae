"""Equal tuning budgets (lib.report.tuning): each row's settings, selection on validation only, the selected
setting on every seed, and a cost that counts the tuning runs."""
import math

import pytest

from lib.report import tuning
from tests.helpers.fake_runs import fake_run

# val (mAP50, view accuracy) and test of each label; det_only / view_only are the Delta-m% references
VAL = {"static_0.01": (0.50, 0.60), "static_0.1": (0.55, 0.70), "static_1": (0.40, 0.80),
       "uw": (0.50, 0.80), "uw@lr=0.004": (0.52, 0.80), "original": (0.50, 0.60),
       "det_only": (0.5, math.nan), "view_only": (math.nan, 0.8)}
# test is the other way round: selecting on it would pick static_1 and uw
TEST = {"static_0.01": (0.5, 0.6), "static_0.1": (0.1, 0.1), "static_1": (0.9, 0.9), "uw": (0.9, 0.9),
        "uw@lr=0.004": (0.1, 0.1), "original": (0.5, 0.6), "det_only": (0.6, math.nan),
        "view_only": (math.nan, 0.9)}


class FakeContext:
    seeds = [0, 1, 2]

    def __init__(self):
        self.calls = []

    def runs(self, methods, seeds=None):
        seeds = self.seeds if seeds is None else seeds
        self.calls.append((list(methods), list(seeds)))
        out = {}
        for m in methods:
            for s in seeds:
                r = fake_run(m, seed=s, val=VAL[m], test=TEST[m])
                r.metrics["train_seconds"] = 360.0  # 0.1 process-hours each
                out[(m, s)] = r
        return out


def test_grids_name_every_row_with_its_settings():
    assert tuning.grids(["original", "det_only"], None) == {
        "original": ["original"], "det_only": ["det_only"], **tuning.DEFAULT_TUNING}
    assert tuning.grids(["uw"], {"uw": ["uw", "uw@lr=0.004"]}) == {"uw": ["uw", "uw@lr=0.004"]}


@pytest.mark.parametrize("given, says", [
    ({"static": ["static_0.1", "magic"]}, "tuning: static: unknown method 'magic'"),
    ({"det_only": ["det_only"]}, "det_only is a Delta-m% reference"),
    ({"uw": []}, "non-empty list of distinct"),
    ({"uw": ["uw", "uw"]}, "non-empty list of distinct"),
    (["static_0.1"], "expected a mapping"),
])
def test_a_bad_grid_is_refused_naming_the_row(given, says):
    with pytest.raises(ValueError, match="^tuning: ") as e:
        tuning.grids(["original"], given)
    assert says in str(e.value)


def test_selection_reads_validation_never_test_and_the_selected_setting_runs_on_every_seed():
    ctx = FakeContext()
    grid = tuning.grids(["original", "det_only", "view_only"], {"static": ["static_0.01", "static_0.1", "static_1"],
                                                                "uw": ["uw", "uw@lr=0.004"]})
    at = ctx.runs([s for g in grid.values() if len(g) > 1 for s in g] + ["det_only", "view_only"], [0])
    tuned = tuning.tune(ctx, grid, at)
    # val Delta-m% against (0.5, 0.8): static_0.1 (+10% det, -12.5% view) beats static_1 (-20%, 0) and
    # static_0.01 (0, -25%); uw@lr=0.004 (+4%, 0) beats uw (0, 0)
    assert tuned.selected == {"original": "original", "det_only": "det_only", "view_only": "view_only",
                              "static": "static_0.1", "uw": "uw@lr=0.004"}
    assert tuned.selection.loc[("static", "static_0.1"), "selected"]
    assert sorted(tuned.selection.index.get_level_values("row").unique()) == ["static", "uw"]  # untuned: no rows
    assert {k for k in tuned.runs if k[0] == "static"} == {("static", s) for s in (0, 1, 2)}
    assert all(r.config.weighting_options["weights"] == [1.0, 0.1] for k, r in tuned.runs.items() if k[0] == "static")
    assert tuned.budgets == {"original": 1, "det_only": 1, "view_only": 1, "static": 3, "uw": 2}


def test_cost_counts_every_tuning_run_and_the_selected_setting_at_the_other_seeds_once():
    ctx = FakeContext()
    grid = {"static": ["static_0.01", "static_0.1", "static_1"], "original": ["original"]}
    at = ctx.runs(["static_0.01", "static_0.1", "static_1", "det_only", "view_only"], [0])
    cost = tuning.tune(ctx, grid, at).cost
    # static: 3 settings at seed 0, then static_0.1 at seeds 1 and 2 (its seed 0 is a tuning run): 5 runs
    assert cost.loc["static", "runs"] == 5 and cost.loc["static", "training process-hours"] == pytest.approx(0.5)
    assert cost.loc["original", "runs"] == 3 and cost.loc["original", "settings"] == 1


def test_tuning_seeds_default_to_the_first_seed():
    assert tuning.tuning_seeds([3, 4, 5], None) == [3] and tuning.tuning_seeds([3, 4], [7, 8]) == [7, 8]


def test_the_selection_table_says_whether_each_setting_converged():
    ctx = FakeContext()
    at = ctx.runs(["static_0.01", "static_0.1", "det_only", "view_only"], [0])
    at[("static_0.1", 0)].metrics.update(converged=True, stopped_epoch=12)
    at[("static_0.01", 0)].metrics.update(converged=False, stopped_epoch=30)
    table = tuning.tune(ctx, {"static": ["static_0.01", "static_0.1"]}, at).selection
    assert table["converged"].tolist() == [False, True] and table["epochs trained"].tolist() == [30, 12]


def test_sections_that_show_one_run_per_row_show_the_selected_setting_at_the_tuning_seed():
    """Sections 5 and 6: a tuned row is drawn at the setting section 4 selected on validation (never its
    default or the one test data would pick), from the tuning runs; an untuned row at the first seed."""
    from lib.report import requests

    ctx = FakeContext()
    groups = requests.visualisation([0, 1, 2], methods=["original", "uw"], focus=["original"],
                                    tuning={"uw": ["uw", "uw@lr=0.004"], "static": ["static_0.1", "static_1"]},
                                    tuning_seeds=[1])
    assert groups == {"drawn": (["original"], [0]), "tuning": (["uw", "uw@lr=0.004", "det_only", "view_only"], [1])}
    grid = requests.shown_grid(["original", "uw"], {"uw": ["uw", "uw@lr=0.004"], "static": ["static_1"]})
    shown, selected = tuning.shown_runs(grid, ctx.runs(*groups["drawn"]), ctx.runs(*groups["tuning"]))
    assert selected == {"original": "original", "uw": "uw@lr=0.004"}
    assert shown["uw"].config.lr == 0.004 and shown["uw"].config.seed == 1 and shown["original"].config.seed == 0
    untuned = requests.validation_criteria([0], methods=["original"], tuning={"uw": ["uw"]}, tuning_seeds=None)
    assert untuned == {"judged": (["original"], [0]), "tuning": ([], [0])}  # nothing tuned shown: no tuning runs
    with pytest.raises(KeyError, match="'original' \\(row original\\)"):
        tuning.shown_runs({"original": ["original"]}, {}, {})

"""Section 8's limitations (lib.report.limitations): every item from the settings and runs it describes."""
from types import SimpleNamespace

from lib.config import TrainConfig
from lib.report.limitations import limitations


def run(converged, view=None):
    return SimpleNamespace(metrics={"converged": converged, "test_view_accuracy": view})


def test_limitations_are_read_from_the_settings_and_the_runs():
    runs = {("original", 0): run(True), ("original", 1): run(False), ("view_only", 0): run(True, 0.97),
            ("dual", 0): run(True)}
    grid = {"static": ["static_0.1", "static_1", "static_3"], "uw": ["uw", "uw@lr=0.004"], "original": ["original"],
            "det_only": ["det_only"], "view_only": ["view_only"]}
    text = limitations(TrainConfig(epochs=30, patience=5, eval_every=1), [0, 1], [0], grid, runs,
                       {"static": "static_1", "uw": "uw@lr=0.004"})
    assert "**Untuned references**: det_only and view_only ran the profile's learning rate (0.002)" in text
    assert "**Grid edges**: `uw` (uw@lr=0.004: learning rate 0.004 (highest of 2)): the selected" in text
    assert "`static` (" not in text  # static_1 is inside its grid
    assert "synthetic colour-Doppler benchmark" in text and "model scale `p` at 128 px" in text
    assert "`static`, `uw` had 2 or 3 settings each, selected on validation at seed(s) 0 only" in text
    assert "; `uw`, without a loss weight of their own, tuned the learning rate" in text
    assert "3 of 4 runs stopped on a validation plateau (at most 30 epochs, patience 5)" in text
    assert "mean test view accuracy of 0.970" in text and "Dual backbone's Delta-m%" in text
    assert "n = 2 per row" in text


def test_a_grid_edge_is_read_per_knob_not_by_place_in_the_list():
    """GradNorm's grid lists alpha 3 third, before its SGD settings: it is still the highest alpha tried."""
    from lib.report.limitations import grid_edges

    grid = ["gradnorm_a0.5", "gradnorm_a1.5", "gradnorm_a3", "gradnorm_a1.5_sgd1", "gradnorm_a3_sgd1"]
    assert grid_edges(grid, "gradnorm_a3", 0.002) == ["alpha 3 (highest of 3)"]
    assert grid_edges(grid, "gradnorm_a1.5", 0.002) == []
    assert grid_edges(grid, "gradnorm_a1.5_sgd1", 0.002) == []  # the SGD rate was tried at one value only
    static = ["static_0.001", "static_0.003", "static_0.01", "static_0.03", "static_0.1"]
    assert grid_edges(static, "static_0.001", 0.002) == ["weights[1] 0.001 (lowest of 5)"]
    assert grid_edges(static, "static_0.01", 0.002) == []
    lrs = ["uw@lr=0.0005", "uw@lr=0.001", "uw", "uw@lr=0.004", "uw@lr=0.008"]
    assert grid_edges(lrs, "uw", 0.002) == [] and grid_edges(lrs, "uw@lr=0.008", 0.002) == [
        "learning rate 0.008 (highest of 5)"]


def test_no_ceiling_or_dual_item_where_they_do_not_apply():
    runs = {("original", 0): run(True), ("view_only", 0): run(True, 0.80)}
    text = limitations(TrainConfig(scale="s", imgsz=640, data="/data/hospital/data.yaml"), [0], [0], {}, runs)
    assert "View ceiling" not in text and "Dual" not in text and "Scale" not in text and "Tuning" not in text
    assert "one data set (`/data/hospital/data.yaml`)" in text


def test_a_task_still_rising_under_a_plateau_of_the_mean_is_counted():
    """The full build: 19 of 57 runs stopped on the mean of the two tasks while one still rose."""
    import pandas as pd

    def with_epochs(map50, view, name):
        r = run(True)
        r.epochs, r.path = pd.DataFrame({"val_mAP50": map50, "val_view_accuracy": view}), SimpleNamespace(name=name)
        return r

    flat = [0.5] * 8
    rising = [0.1, 0.2, 0.3, 0.30, 0.31, 0.32, 0.33, 0.345]  # +0.045 over the best before the last 5
    runs = {("a", 0): with_epochs(rising, [1.0] * 8, "a"), ("b", 0): with_epochs(flat, [0.9] * 7 + [0.905], "b")}
    text = limitations(TrainConfig(epochs=30, patience=5, eval_every=1, min_delta=0.01), [0], [0], {}, runs)
    assert "in 1 of those 2 runs one task's validation metric still rose by more than 0.01 in the last 5 " \
           "epochs (by up to 0.045)" in text

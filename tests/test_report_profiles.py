"""Report profiles (lib.report.profiles): what each profile can answer, and bad keys refused before any run."""
import pytest

from lib.report.profiles import ProfileError, check_common, load_profile
from lib.report.requests import compared_grid
from lib.report.verdicts import MIN_N


def test_the_full_profile_gives_every_tuned_row_the_same_budget_plateau_stopping_and_enough_seeds():
    full = load_profile("full")
    common = full["common"]
    budgets = {row: len(g) for row, g in common["tuning"].items()}
    assert len(set(budgets.values())) == 1 and min(budgets.values()) >= 4, budgets
    assert len(common["seeds"]) >= MIN_N and common["patience"] > 0 and common["eval_every"] == 1
    rows = compared_grid(full["notebooks"]["04_comparison"]["methods"], common["tuning"])
    untuned = {r for r, g in rows.items() if len(g) == 1}
    assert untuned == {"original", "det_only", "view_only"}  # upstream's point and the references only
    assert full["notebooks"]["08_conclusions"]["methods"] == full["notebooks"]["04_comparison"]["methods"]


def test_the_gpu_profile_is_the_full_profile_at_yolov5s_and_640_pixels():
    full, gpu = load_profile("full"), load_profile("gpu")
    for key in ("seeds", "epochs", "eval_every", "patience", "tuning", "tuning_seeds"):
        assert gpu["common"][key] == full["common"][key], key
    assert gpu["notebooks"] == full["notebooks"]
    assert (gpu["common"]["scale"], gpu["common"]["imgsz"]) == ("s", 640)


@pytest.mark.parametrize("common, says", [
    ({"tuning": ["static_0.1"]}, "tuning must map a row to a list of method labels"),
    ({"tuning": {"static": "static_0.1"}}, "tuning must map a row to a list of method labels"),
    ({"tuning_seeds": []}, "tuning_seeds must be a non-empty list of integers"),
    ({"tuning_seeds": [0.5]}, "tuning_seeds must be a non-empty list of integers"),
])
def test_a_bad_tuning_key_is_refused_naming_where(common, says):
    with pytest.raises(ProfileError) as e:
        check_common(common, "profile 'x': common")
    assert str(e.value).startswith("profile 'x': common: ") and says in str(e.value)


def test_a_typo_in_a_profiles_common_block_is_refused_before_any_run(tmp_path, monkeypatch):
    from lib.report import profiles, runner

    (tmp_path / "typo.yaml").write_text("common:\n  epochs: 2\n  eval_evry: 1\nnotebooks: {}\n")
    (tmp_path / "badvalue.yaml").write_text("common:\n  epochs: 0\nnotebooks: {}\n")
    monkeypatch.setattr(profiles, "PROFILES", tmp_path)
    with pytest.raises(ProfileError, match="typo.yaml: common: unknown keys \\['eval_evry'\\]"):
        runner.notebook_parameters("typo")
    with pytest.raises(ProfileError, match="badvalue.yaml: common: invalid TrainConfig: epochs must be >= 1"):
        runner.notebook_parameters("badvalue")

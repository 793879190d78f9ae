"""The scaling calculation (benchmarks/scaling.py): waves of runs and their longest-first schedule."""
import json

import pytest

from benchmarks import scaling


def test_runs_fall_into_waves_at_moments_when_none_trains():
    spans = [(0, 10), (1, 4), (4, 9), (10, 12), (11, 20), (25, 26)]
    assert scaling.waves(spans) == [[(0, 10), (1, 4), (4, 9)], [(10, 12), (11, 20)], [(25, 26)]]


@pytest.mark.parametrize("workers, expected", [(1, 30), (2, 15), (3, 11), (4, 9), (10, 9)])
def test_the_longest_first_schedule_has_the_known_makespan(workers, expected):
    assert scaling.makespan([9, 7, 5, 4, 3, 2], workers) == expected


def test_a_reports_calculated_wall_adds_its_time_outside_training(tmp_path, monkeypatch):
    """Two waves (2 runs of 100 s side by side, then 1 of 50 s) in a 400 s build: 250 s outside training."""
    report, runs = tmp_path / "reports" / "r", tmp_path / "runs"
    report.mkdir(parents=True)
    spans = {"a": (0, 100), "b": (0, 100), "c": (150, 200)}
    for name, (s, e) in spans.items():
        (runs / name).mkdir(parents=True)
        (runs / name / ".training.json").write_text(json.dumps({"started": s, "ended": e}))
    (report / "provenance.json").write_text(json.dumps(
        {"seconds": 400, "runs_trained": 3,
         "notebooks": {"x": {"sources": {"t": ["a", "b"]}}, "y": {"sources": {"u": ["c"]}}}}))
    monkeypatch.setattr(scaling, "OUT", tmp_path / "reports" / "bench")
    monkeypatch.setenv("ECHO_MTL_RUNS", str(runs))
    df = scaling.calculate("r", workers=(1, 2))
    assert df.loc[1, "training wall (s)"] == 250 and df.loc[2, "training wall (s)"] == 150
    assert df.loc[1, "outside training (s)"] == 250 and df.loc[2, "calculated wall (min)"] == round(400 / 60, 1)


def test_a_warm_builds_time_is_refused_by_name(tmp_path, monkeypatch):
    report = tmp_path / "reports" / "r"
    report.mkdir(parents=True)
    (report / "provenance.json").write_text(json.dumps({"seconds": 30, "runs_trained": 0, "notebooks": {}}))
    monkeypatch.setattr(scaling, "OUT", tmp_path / "reports" / "bench")
    with pytest.raises(SystemExit, match="trained no run.*--provenance"):
        scaling.calculate("r")

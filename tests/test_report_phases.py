"""The report's phase profile on hand-made run folders with known times."""
import json

import pandas as pd

from lib.report import phases


def fake_run(root, name, start, end, steps, evals, interference=0.0):
    d = root / name
    d.mkdir(parents=True)
    pd.DataFrame({"step_time": steps, "data_time": [0.0] * len(steps),
                  "interference_time": [interference] * len(steps)}).to_csv(d / "history.csv", index=False)
    pd.DataFrame({"eval_time": evals}).to_csv(d / "epochs.csv", index=False)
    (d / "MANIFEST.json").write_text("{}")
    (d / ".training.json").write_text(json.dumps({"started": start, "ended": end}))


def test_phases_add_up_and_count_side_by_side_runs_once_on_the_wall(tmp_path):
    fake_run(tmp_path, "a", 100.0, 160.0, [10.0, 20.0], [5.0], interference=1.0)   # 60 s process
    fake_run(tmp_path, "b", 130.0, 170.0, [15.0], [5.0, 5.0])                      # 40 s, overlaps a
    fake_run(tmp_path, "old", 0.0, 10.0, [1.0], [1.0])                              # not trained this time
    assert phases.completed_runs(tmp_path) == {"a", "b", "old"}
    p = phases.report_phases(200.0, 12.5, tmp_path, {"a", "b"}, prefetch_seconds=30.0)
    assert p["runs trained"] == 2 and p["runs: training steps (sum)"] == 45.0
    assert p["runs: interference measurement (sum)"] == 2.0 and p["runs: validation evaluation (sum)"] == 15.0
    assert p["runs: process time (sum)"] == 100.0
    assert p["runs: start-up, data, BatchNorm recalibration, test evaluation, saving (sum)"] == 100.0 - 45 - 2 - 15
    assert p["wall with a run training"] == 70.0 and p["wall with no run training (kernels, data, tables, figures)"] == 160.0
    assert "HTML export (wall)" in phases.summary(p) and "runs trained" in phases.summary(p)

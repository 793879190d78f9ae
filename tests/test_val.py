"""python -m lib.val: the run's own validation reproduced from model.pt alone, any other data set scored, and one
line and exit 2 for every bad input."""
import json
import math
import shutil
import subprocess
import sys

import pandas as pd
import pytest
import torch

from lib import predict
from lib.data import load_split, parse_label_file, read_data_yaml, split_files
from lib.engine.history import EVAL_METRICS
from lib.report import clips
from lib.val import main
from tests.helpers.datasets import ultralytics


def val(capsys, *argv):
    code = main([str(a) for a in argv])
    out, err = capsys.readouterr()
    return code, (json.loads(out.splitlines()[-1]) if code == 0 else out), err


@pytest.mark.parametrize("split", ["val", "test"])
def test_val_reproduces_the_runs_own_figures_from_model_pt_alone(tiny_run, tmp_path, capsys, split):
    run = tiny_run.run
    alone = tmp_path / "model.pt"  # no run folder beside it
    shutil.copy(run.path / "model.pt", alone)
    code, line, err = val(capsys, "--weights", alone, "--data", tiny_run.data, "--split", split)
    assert code == 0
    for k in EVAL_METRICS:  # the JSON line training prints, the same numbers
        assert line[k] == run.metrics[f"{split}_{k}"], k
    per_class = run.table(f"{split}_detection_per_class")
    for name, row in per_class.iterrows():
        for col in ("AP50", "AP50_95"):
            assert (line[col][name] is None and math.isnan(row[col])) or line[col][name] == row[col], (name, col)
    # the clip reading: as the report reads it (lib.report.clips, its own loop over the split)
    o = clips.outcomes(run, load_split(read_data_yaml(tiny_run.data).yaml_path, split, 64))
    assert (line["clip_view_accuracy"], line["clips"]) == clips.clip_view_accuracy(o) and line["clips"] == 6
    assert line["images"] == 12 and line["parameters"] == run.metrics["parameters"]
    assert err.splitlines()[1].split()[:3] == ["Class", "Images", "Instances"] and "all" in err


def test_val_scores_another_data_set_as_predict_reads_it(tiny_run, tmp_path, capsys):
    data = ultralytics(tmp_path / "other", n=(2, 6))  # another layout, 48x32 frames, names without clip ids
    code, line, _ = val(capsys, "--weights", tiny_run.run.path, "--data", data)
    assert code == 0 and line["images"] == 6 and line["clips"] == 0 and line["clip_view_accuracy"] is None
    assert line["data"] == str(data) and line["split"] == "val"
    # the view accuracy, computed another way: predict's views against the label files
    assert predict.main(["--weights", str(tiny_run.run.path), "--source", str(tmp_path / "other" / "images" / "val"),
                         "--out", str(tmp_path / "pred")]) == 0
    spec = read_data_yaml(data)
    files = split_files(spec, "val")
    truth = [spec.view_names[parse_label_file(lbl, spec.nc, spec.n_views).view] for lbl in files.labels]
    frames = pd.read_csv(tmp_path / "pred" / "predictions.csv")
    assert frames["source"].tolist() == [str(p) for p in files.images]
    assert line["view_accuracy"] == pytest.approx((frames["view"] == truth).mean(), abs=1e-12)


@pytest.mark.parametrize("case, message", [
    ("missing data", "data.yaml not found"),
    ("other names", "names ['a', 'b', 'c', 'd'] are not the model's ['AR', 'MR', 'PR', 'TR']"),
    ("missing split", "no split 'test'"),
    ("bad label", "token 'x' is not a number"),
    ("model of another version", "model file format 3"),
])
def test_bad_input_is_one_line_and_exit_2(tiny_run, tmp_path, capsys, case, message):
    weights, data = tiny_run.run.path, tmp_path / "none.yaml"
    split = "val"
    if case in ("other names", "missing split", "bad label"):
        data = ultralytics(tmp_path / "other", n=(2, 2))
    if case == "other names":
        text = data.read_text().replace("names:\n  0: AR\n  1: MR\n  2: PR\n  3: TR\n", "names: [a, b, c, d]\n")
        data.write_text(text)
    elif case == "missing split":
        split = "test"
    elif case == "bad label":
        (tmp_path / "other" / "labels" / "val" / "im0.txt").write_text("x 0.5 0.5 0.1 0.1\n0\n")
    elif case == "model of another version":
        data = tiny_run.data
        weights = tmp_path / "future.pt"
        torch.save({**torch.load(tiny_run.run.path / "model.pt", weights_only=True), "format_version": 3}, weights)
    code, out, err = val(capsys, "--weights", weights, "--data", data, "--split", split)
    assert code == 2 and out == "" and err.count("\n") == 1 and err.startswith("error:") and message in err, err


@pytest.mark.parametrize("flag, value", [("--imgsz", "-32"), ("--batch-size", "0")])
def test_a_size_below_one_is_refused_by_name(tiny_run, capsys, flag, value):
    from lib.val import main

    with pytest.raises(SystemExit) as stop:
        main(["--weights", str(tiny_run.run.path), "--data", str(tiny_run.data), flag, value])
    err = capsys.readouterr().err
    assert stop.value.code == 2 and err.count("\n") == 1 and f"argument {flag}: {value} is not >= 1" in err, err


def test_the_command_line_gives_no_traceback(tmp_path):
    done = subprocess.run([sys.executable, "-m", "lib.val", "--weights", str(tmp_path / "model.pt"), "--data",
                           str(tmp_path / "data.yaml")], capture_output=True, text=True)
    assert done.returncode == 2 and done.stderr.count("\n") == 1 and "model file not found" in done.stderr

"""Training end to end through lib.train and lib.cli: tiny overfits, determinism, the command line's output and
its one-line errors."""
import json
import math
import subprocess
import sys
from pathlib import Path

import pandas as pd
import pytest

from lib.engine.history import TIMING_COLUMNS
from lib.train import train
from tests.helpers.datasets import ultralytics
from tests.helpers.training import small


@pytest.mark.parametrize("model, weighting", [("shared", "gradnorm"), ("dual", "equal")])
def test_overfits_eight_images(eight_images, model, weighting, tmp_path):
    result = train(small(eight_images, model=model, weighting=weighting), runs=tmp_path, progress=False)
    assert result.metrics["val_mAP50"] > 0.9
    assert result.metrics["val_view_accuracy"] == 1.0


def test_same_seed_same_history_and_metrics(eight_images, tmp_path):
    cfg = small(eight_images, epochs=3, interference_every=2, eval_every=1, weighting="gradnorm")
    a, b = (train(cfg, runs=tmp_path / store, progress=False) for store in ("a", "b"))  # two stores: trained twice
    assert a.path != b.path
    drop = [c for c in a.history if c in TIMING_COLUMNS]
    pd.testing.assert_frame_equal(a.history.drop(columns=drop), b.history.drop(columns=drop))
    pd.testing.assert_frame_equal(a.epochs.drop(columns=[c for c in a.epochs if c in TIMING_COLUMNS]),
                                  b.epochs.drop(columns=[c for c in b.epochs if c in TIMING_COLUMNS]))
    for k, v in a.metrics.items():
        if "seconds" not in k and "memory" not in k and k != "seconds_per_step":
            assert v == b.metrics[k] or (isinstance(v, float) and math.isnan(v) and math.isnan(b.metrics[k])), k


def test_command_line_prints_metrics_json_last(eight_images, tmp_path):
    out = subprocess.run([sys.executable, "-m", "lib.train", "--data", eight_images, "--epochs", "1", "--imgsz", "64",
                          "--batch-size", "8", "--weighting", "gradnorm", "--runs", str(tmp_path), "--no-progress"],
                         capture_output=True, text=True, check=True)
    last = json.loads(out.stdout.strip().splitlines()[-1])
    metrics = json.loads((Path(last["run"]) / "metrics.json").read_text())
    for k in ("mAP50", "mAP50_95", "precision", "recall", "view_accuracy", "view_macro_f1"):
        assert isinstance(last[k], float) and last[k] == metrics[f"val_{k}"], k
    assert last["parameters"] == metrics["parameters"] and last["train_seconds"] == metrics["train_seconds"]
    bad = subprocess.run([sys.executable, "-m", "lib.train", "--epochs", "0", "--runs", str(tmp_path)],
                         capture_output=True, text=True)
    assert bad.returncode == 2 and "epochs must be >= 1" in bad.stderr


def test_command_line_exits_2_with_one_line_on_a_non_finite_weight(eight_images, tmp_path, monkeypatch, capsys):
    from lib import cli
    from lib.weighting import Fixed, StepInfo

    real = Fixed.backward

    def nan_weight(self, losses, step):
        info = real(self, losses, step)
        return StepInfo(weights=[float("inf"), info.weights[1]], extra=info.extra)

    monkeypatch.setattr(Fixed, "backward", nan_weight)
    code = cli.main(["--data", eight_images, "--epochs", "1", "--imgsz", "64", "--batch-size", "8", "--anchors",
                     "default", "--runs", str(tmp_path), "--no-progress"])
    err = capsys.readouterr().err
    assert code == 2 and err.count("\n") == 1, err
    assert err.startswith("error: non-finite weight w_det (inf) in the fixed weighting at step 0 (epoch 1)"), err


def test_cli_on_bad_label_error_names_the_file_and_skip_trains_without_it(tmp_path, capsys):
    from lib.cli import main

    yaml_path = ultralytics(tmp_path / "set")
    bad = tmp_path / "set/labels/train/im3.txt"
    bad.write_text("0 0.5 0.5 0.2 0.2\n7")
    common = ["--data", str(yaml_path), "--epochs", "1", "--imgsz", "32", "--bn-calibration-images", "0",
              "--runs", str(tmp_path / "runs"), "--no-progress"]
    assert main(common) == 2
    err = capsys.readouterr().err
    assert err == (f"error: {bad}:2: view index 7 is not one of 0..2 (a view line is one index or a one-hot line of "
                   "3 values) (--on-bad-label skip leaves bad files out, with a summary)\n")
    assert main(common + ["--on-bad-label", "skip"]) == 0
    out, err = capsys.readouterr()
    assert '"mAP50"' in out  # trained on the other five frames; warnings as one line each, no source line
    assert f"warning: split 'train': skipped 1 bad image/label file(s) (1 bad view line); first:\n  {bad}:2:" in err


def test_cli_says_when_it_reuses_a_run_and_hints_at_skip(tmp_path, capsys):
    from lib.cli import main

    yaml_path = ultralytics(tmp_path / "set")
    common = ["--data", str(yaml_path), "--epochs", "1", "--imgsz", "32", "--bn-calibration-images", "0",
              "--runs", str(tmp_path / "runs"), "--no-progress"]
    assert main(common) == 0
    first = capsys.readouterr()
    assert main(common) == 0
    again = capsys.readouterr()
    assert "using the stored run" not in first.err and "using the stored run" in again.err
    assert again.out == first.out
    (tmp_path / "set/labels/train/im1.txt").write_text("0 0.5 0.5 0.2 0.2\n9")
    assert main(common) == 2
    assert capsys.readouterr().err.endswith("(--on-bad-label skip leaves bad files out, with a summary)\n")

"""The command line is generated from TrainConfig; every bad option is one line, exit 2, nothing created."""
import json
import subprocess
import sys
from dataclasses import fields
from types import SimpleNamespace

import pytest

from lib import cli
from lib.cli import build_parser, config_from_args, main
from lib.config import AUGMENTATION, YOLOV5_AUGMENTATION, TrainConfig, defaults
from lib.store.runs import RunStore


def test_help_lists_every_config_field():
    out = subprocess.run([sys.executable, "-m", "lib.train", "--help"], capture_output=True, text=True, check=True).stdout
    for f in fields(TrainConfig):
        assert "--" + f.name.replace("_", "-") in out, f.name


def test_flag_defaults_are_the_config_defaults():
    args = build_parser().parse_args([])
    given = {f.name: getattr(args, f.name) for f in fields(TrainConfig) if f.name not in AUGMENTATION}
    assert config_from_args(args) == TrainConfig() and given == {k: v for k, v in defaults().items() if k not in AUGMENTATION}


def test_augment_preset_is_yolov5s_and_a_given_flag_overrides_it():
    cfg = config_from_args(build_parser().parse_args(["--augment", "yolov5", "--fliplr", "0", "--mixup", "0.1"]))
    assert {k: getattr(cfg, k) for k in YOLOV5_AUGMENTATION} == {**YOLOV5_AUGMENTATION, "fliplr": 0.0, "mixup": 0.1}
    assert config_from_args(build_parser().parse_args(["--mosaic", "0.5"])).mosaic == 0.5


def test_flags_reach_the_config():
    args = build_parser().parse_args(["--final-lr-ratio", "0.2", "--bn-calibration-images", "0", "--weighting",
                                      "gradnorm", "--option", "optimizer=sgd", "--option", "lr=0.01", "--alpha", "0.5",
                                      "--data", "none"])
    cfg = config_from_args(args)
    assert cfg.final_lr_ratio == 0.2 and cfg.bn_calibration_images == 0 and cfg.data is None
    assert cfg.weighting_options == {"optimizer": "sgd", "lr": 0.01, "alpha": 0.5}


def test_task_weights_are_the_loss_weights_and_weights_a_checkpoint(tmp_path):
    cfg = config_from_args(build_parser().parse_args(["--task-weights", "2", "0.5"]))
    assert cfg.weighting_options == {"weights": [2.0, 0.5]} and cfg.weights is None
    cfg = config_from_args(build_parser().parse_args(["--weighting", "gradnorm", "--task-weights", "1", "3"]))
    assert cfg.weighting_options == {"initial_weights": [1.0, 3.0]}
    (tmp_path / "w.pt").write_bytes(b"x")
    cfg = config_from_args(build_parser().parse_args(["--weights", str(tmp_path / "w.pt")]))
    assert cfg.weights == str(tmp_path / "w.pt") and cfg.weighting_options == {}


@pytest.mark.parametrize("argv, message", [
    (["--weighting", "uw", "--task-weights", "1", "1"], "--task-weights applies to fixed, gradnorm, upstream_rule, not to weighting 'uw'"),
    (["--weights", "1"], "--weights 1: no such file (--weights takes a checkpoint path, pretrained weights; the task loss "
                         "weights are --task-weights"),
    (["--weights", "missing.pt"], "missing.pt: --weights file not found"),
    (["--weighting", "uw", "--option", "weights=[1, 1]"], "weighting 'uw' has no option 'weights'; its options are initial_log_var"),
    (["--device", "cuda:x"], "device must be auto, cpu, cuda, cuda:N or mps"),
    (["--grad-clip", "-5"], "grad_clip must be >= 0"),
    (["--final-lr-ratio", "7"], "final_lr_ratio must be in [0, 1]"),
    (["--weighting", "gradnorm", "--option", "optimizer=bogus"], "weighting 'gradnorm': optimizer must be 'adam' or 'sgd', got 'bogus'"),
    (["--weighting", "gradnorm", "--option", "speed=3"], "weighting 'gradnorm' has no option 'speed'; its options are alpha, lr,"),
    (["--weighting", "fixed", "--task-weights", "1"], "Fixed needs one weight per task (2)"),
    (["--epochs", "0"], "epochs must be >= 1"),
])
def test_bad_options_are_one_line_exit_2_and_create_nothing(argv, message, tmp_path, monkeypatch, capsys):
    monkeypatch.setenv("ECHO_MTL_DATA", str(tmp_path / "data"))
    code = main(argv + ["--runs", str(tmp_path / "runs"), "--no-progress"])
    err = capsys.readouterr().err
    assert code == 2 and message in err and err.count("\n") == 1, err
    assert not (tmp_path / "runs").exists() and not (tmp_path / "data").exists()


@pytest.mark.parametrize("argv, message", [
    (["--weighting-options", "{alpha: 1}"], "--weighting-options: not JSON"),
    (["--scale", "cpu"], "argument --scale: invalid choice: 'cpu'"),
    (["--task", "cls"], "argument --task: invalid choice: 'cls'"),
    (["--option", "foo"], "'foo' is not KEY=VALUE"),
    (["--weights", "1", "2"], "unrecognized arguments: 2 (--weights takes a checkpoint path, pretrained weights; the "
                              "task loss weights are --task-weights, e.g. --task-weights 1 1)"),
])
def test_argparse_errors_are_one_line_naming_the_flag(argv, message, capsys):
    with pytest.raises(SystemExit) as e:
        build_parser().parse_args(argv)
    err = capsys.readouterr().err
    assert e.value.code == 2 and message in err and err.count("\n") == 1, err


def test_one_data_file_is_one_run_key(tmp_path, monkeypatch):
    data = tmp_path / "d" / "data.yaml"
    data.parent.mkdir()
    data.write_text("x")
    monkeypatch.chdir(tmp_path)
    assert TrainConfig(data="d/../d/data.yaml") == TrainConfig(data=str(data)) == TrainConfig(data="d/data.yaml")


def test_a_run_key_generates_no_data(tmp_path, monkeypatch):
    monkeypatch.setenv("ECHO_MTL_DATA", str(tmp_path / "data"))
    key = RunStore(tmp_path / "runs").key(TrainConfig())
    assert len(key) == 16 and not (tmp_path / "data").exists()
    assert RunStore(tmp_path / "runs").key(TrainConfig(seed=1)) != key


def strict_json(line: str):
    """``json.loads`` that refuses NaN and Infinity, which are not JSON."""
    def refuse(constant):
        raise ValueError(f"{constant} is not valid JSON")
    return json.loads(line, parse_constant=refuse)


def test_json_line_writes_undefined_metrics_as_null(tmp_path, monkeypatch, capsys):
    """A split without ground-truth objects has NaN detection metrics: the last line is still strict JSON, with null."""
    nan = float("nan")
    metrics = {"val_mAP50": nan, "val_mAP50_95": nan, "val_precision": nan, "val_recall": nan, "val_f1": nan,
               "val_view_accuracy": 0.75, "val_view_macro_f1": float("inf"), "parameters": 1234, "train_seconds": 1.5}

    class Store:  # stands in for the run store: no training
        def __init__(self, root):
            pass

        def get(self, cfg):
            return None

        def get_or_train(self, cfg, force=False, progress=True):
            return SimpleNamespace(metrics=metrics, path=tmp_path / "run")

    monkeypatch.setattr(cli, "RunStore", Store)
    assert main(["--runs", str(tmp_path / "runs"), "--no-progress", "--device", "cpu"]) == 0
    line = capsys.readouterr().out.strip().splitlines()[-1]
    last = strict_json(line)
    assert [last[k] for k in ("mAP50", "mAP50_95", "precision", "recall", "f1", "view_macro_f1")] == [None] * 6
    assert last["view_accuracy"] == 0.75 and last["parameters"] == 1234 and last["run"] == str(tmp_path / "run")

"""python -m lib.report --weights PATH: every run starts from PATH; the report goes beside the profile's own."""
from pathlib import Path

import torch

from lib.report import context, runner


def test_weights_reach_every_run_and_an_override_wins(tmp_path, monkeypatch):
    ckpt = tmp_path / "yolov5s.pt"
    torch.save({}, ckpt)
    monkeypatch.setenv(context.WEIGHTS_ENV, str(ckpt))
    base, *_ = context.resolve("smoke")
    assert base.weights == str(ckpt)
    other = tmp_path / "other.pt"
    torch.save({}, other)
    assert context.resolve("smoke", {"weights": str(other)})[0].weights == str(other)
    monkeypatch.delenv(context.WEIGHTS_ENV)
    assert context.resolve("smoke")[0].weights is None


def test_the_report_goes_to_profile_plus_stem_never_over_the_profile(tmp_path, monkeypatch):
    ckpt = tmp_path / "yolov5s.pt"
    torch.save({}, ckpt)
    seen = {}
    monkeypatch.setattr(runner, "run_report", lambda profile, only, show, timeout, out: seen.update(out=out))
    monkeypatch.delenv(context.WEIGHTS_ENV, raising=False)
    assert runner.main(["--profile", "smoke", "--weights", str(ckpt)]) == 0
    assert seen["out"].endswith("reports/smoke+yolov5s")
    import os

    assert os.environ.pop(context.WEIGHTS_ENV) == str(ckpt)


def test_a_missing_weights_file_is_one_line(tmp_path, capsys):
    assert runner.main(["--profile", "smoke", "--weights", str(tmp_path / "nope.pt")]) == 1
    err = capsys.readouterr().err.strip().splitlines()
    assert err == [f"report failed: --weights {tmp_path / 'nope.pt'}: no such file"]


def test_a_run_s_model_file_names_the_report_by_its_run():
    assert runner.weights_name(Path("/runs/shared-fixed-both-s0-abc/model.pt")) == "shared-fixed-both-s0-abc"
    assert runner.weights_name(Path("/w/yolov5s.pt")) == "yolov5s"

"""A run can be watched while it trains: results.csv (YOLOv5's columns), history.csv and TensorBoard grow after
every epoch, a killed run keeps them, and the command line says where to look."""
import json
from pathlib import Path

import pandas as pd
import pytest

from lib.cli import main
from lib.engine import logs
from lib.engine.trainer import Trainer
from lib.store.runs import RunStore
from lib.train import train
from tests.helpers.inference import tiny_config

YOLOV5_COLUMNS = ["epoch", "train/box_loss", "train/obj_loss", "train/cls_loss", "metrics/precision", "metrics/recall",
                  "metrics/mAP_0.5", "metrics/mAP_0.5:0.95", "val/det_loss"]


def config(data, **kw):
    return tiny_config(data, **{"epochs": 3, "eval_every": 1, **kw})


def test_results_csv_grows_while_the_run_trains(eight_images, tmp_path, monkeypatch):
    seen = {}  # epoch being trained -> (results.csv epochs, history.csv rows) read at its first step
    step = Trainer.train_step

    def watching(self, batch, epoch):
        if epoch not in seen:
            results, history = self.run_dir / "results.csv", self.run_dir / "history.csv"
            seen[epoch] = ((pd.read_csv(results)["epoch"].tolist(), len(pd.read_csv(history)))
                           if results.exists() else None)
        return step(self, batch, epoch)

    monkeypatch.setattr(Trainer, "train_step", watching)
    run = train(config(eight_images), runs=tmp_path, progress=False)
    assert seen == {0: None, 1: ([0], 1), 2: ([0, 1], 2)}  # one step per epoch (8 images, batch 8)
    results = pd.read_csv(run.path / "results.csv")
    assert list(results.columns[:len(YOLOV5_COLUMNS)]) == YOLOV5_COLUMNS and results["epoch"].tolist() == [0, 1, 2]
    assert {"train/view_loss", "metrics/view_accuracy", "val/view_loss", "w/det", "w/view", "x/lr0"} <= set(results)
    # the same numbers as the run's own logs, under YOLOv5's names
    mean = run.history.groupby("epoch")[["loss_box", "loss_view", "lr"]]
    assert results["train/box_loss"].tolist() == pytest.approx(mean.mean()["loss_box"].tolist(), rel=1e-12)
    assert results["x/lr0"].tolist() == pytest.approx(mean.last()["lr"].tolist(), rel=1e-12)
    assert results["metrics/mAP_0.5"].iloc[-1] == pytest.approx(run.metrics["val_mAP50"], rel=1e-12)
    assert results["metrics/view_accuracy"].iloc[-1] == pytest.approx(run.metrics["val_view_accuracy"], rel=1e-12)
    assert "results.csv" in json.loads((run.path / "MANIFEST.json").read_text())["files"]


def test_a_killed_run_keeps_its_logs_and_resumes_them(eight_images, tmp_path, monkeypatch):
    cfg = config(eight_images, epochs=2)
    step = Trainer.train_step

    def killed_in_epoch_1(self, batch, epoch):
        if epoch == 1:
            raise KeyboardInterrupt  # as a kill during the second epoch
        return step(self, batch, epoch)

    monkeypatch.setattr(Trainer, "train_step", killed_in_epoch_1)
    with pytest.raises(KeyboardInterrupt):
        train(cfg, runs=tmp_path / "a", progress=False)
    folder = RunStore(tmp_path / "a").partial_path(cfg)  # a run trains under .partial/ until complete
    assert not (folder / "MANIFEST.json").exists() and not RunStore(tmp_path / "a").path(cfg).exists()
    assert pd.read_csv(folder / "results.csv")["epoch"].tolist() == [0]
    assert pd.read_csv(folder / "history.csv")["epoch"].tolist() == [0]
    monkeypatch.setattr(Trainer, "train_step", step)
    resumed = train(cfg, runs=tmp_path / "a", progress=False)  # resumes from epoch 0's checkpoint
    whole = train(cfg, runs=tmp_path / "b", progress=False)
    pd.testing.assert_frame_equal(pd.read_csv(resumed.path / "results.csv"), pd.read_csv(whole.path / "results.csv"))


def test_tensorboard_scalars_are_the_results_columns(eight_images, tmp_path):
    pytest.importorskip("tensorboard")
    from tensorboard.backend.event_processing.event_accumulator import EventAccumulator

    run = train(config(eight_images), runs=tmp_path, progress=False)
    events = EventAccumulator(str(run.path / logs.TENSORBOARD_DIR))
    events.Reload()
    results = pd.read_csv(run.path / "results.csv")
    for tag in ("metrics/mAP_0.5", "train/box_loss", "metrics/view_accuracy"):
        scalars = events.Scalars(tag)
        assert [s.step for s in scalars] == [0, 1, 2]
        assert [s.value for s in scalars] == pytest.approx(results[tag].tolist(), rel=1e-6)


def test_without_tensorboard_only_the_csvs_are_written(eight_images, tmp_path, monkeypatch):
    monkeypatch.setattr(logs, "tensorboard_installed", lambda: False)
    run = train(config(eight_images, epochs=1), runs=tmp_path, progress=False)
    assert (run.path / "results.csv").is_file() and not (run.path / logs.TENSORBOARD_DIR).exists()
    assert "pip install tensorboard" in logs.where_to_look(run.path)


def test_the_command_line_says_where_to_look(eight_images, tmp_path, capsys):
    argv = ["--data", eight_images, "--epochs", "1", "--imgsz", "64", "--batch-size", "8", "--threads", "1",
            "--interference-every", "0", "--runs", str(tmp_path)]
    assert main(argv) == 0
    out, err = capsys.readouterr()
    run = Path(json.loads(out.strip().splitlines()[-1])["run"])
    partial = run.parent / ".partial" / run.name  # where it grows; renamed to `run` once complete
    assert f"training into {partial}: results.csv and history.csv grow after every epoch" in err
    assert main(argv) == 0  # stored: nothing to watch
    assert "training into" not in capsys.readouterr().err
    assert main(argv + ["--no-progress", "--force"]) == 0  # quiet: progress and this line both off
    assert "training into" not in capsys.readouterr().err


def test_a_broken_tensorboard_is_one_warning_and_the_run_goes_on(eight_images, tmp_path, monkeypatch):
    import torch.utils.tensorboard

    def broken(*args, **kwargs):
        raise TypeError("Descriptors cannot be created directly")  # as a protobuf it cannot use

    monkeypatch.setattr(logs, "tensorboard_installed", lambda: True)
    monkeypatch.setattr(torch.utils.tensorboard, "SummaryWriter", broken)
    with pytest.warns(UserWarning, match="tensorboard is installed but cannot write") as caught:
        run = train(config(eight_images, epochs=2), runs=tmp_path, progress=False)
    assert len([w for w in caught if "tensorboard" in str(w.message)]) == 1  # said once, not every epoch
    assert pd.read_csv(run.path / "results.csv")["epoch"].tolist() == [0, 1]


def test_no_finished_epoch_writes_no_log(tmp_path):
    """A checkpoint before any epoch finished (a refused resume writes one) leaves no results.csv, no error."""
    from lib.engine.logs import RunLogs

    RunLogs(tmp_path).epoch_done([], [])
    assert not (tmp_path / "results.csv").exists()

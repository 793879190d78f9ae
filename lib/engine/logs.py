"""What a run writes while it trains, so it can be watched and a killed run keeps its logs so far.

After every epoch ``RunLogs.epoch_done`` writes into the run folder:

* ``results.csv``: one row per epoch so far, YOLOv5's ``results.csv`` columns where they apply
  (``RESULTS_COLUMNS``), then this project's (view head, task weights);
* ``epochs.csv`` and ``history.csv``: the per-epoch and per-step logs so far (``lib.engine.history``);
* TensorBoard scalars of the epoch under ``tensorboard/``, tagged as the ``results.csv`` columns (YOLOv5's
  tags), when the optional ``tensorboard`` package is installed (``pip install tensorboard``).

Each CSV is rewritten whole and atomically (``lib.store.atomic``), one row longer each epoch, so a reader sees
the previous epoch's file or this one's, never half a row, and a resumed run's files continue from the
checkpoint's history exactly. Nothing here feeds back into training.
"""
from __future__ import annotations

import importlib.util
import math
import warnings
from pathlib import Path

import pandas as pd

from ..store.atomic import write_text

# results.csv column <- epochs.csv column (empty where the epoch has none, e.g. not evaluated)
RESULTS_COLUMNS = {
    "train/box_loss": "loss_box", "train/obj_loss": "loss_obj", "train/cls_loss": "loss_cls",
    "metrics/precision": "val_precision", "metrics/recall": "val_recall", "metrics/mAP_0.5": "val_mAP50",
    "metrics/mAP_0.5:0.95": "val_mAP50_95", "val/det_loss": "val_loss_det",   # YOLOv5 splits val loss in 3
    "train/view_loss": "loss_view", "metrics/view_accuracy": "val_view_accuracy",
    "metrics/view_macro_f1": "val_view_macro_f1", "val/view_loss": "val_loss_view",
    "w/det": "w_det", "w/view": "w_view",
}
TENSORBOARD_DIR = "tensorboard"


def tensorboard_installed() -> bool:
    return importlib.util.find_spec("tensorboard") is not None


def results_table(history: list[dict], epochs: list[dict]) -> pd.DataFrame:
    """``results.csv`` of the epochs so far: ``epoch`` (0-based, as YOLOv5), the ``RESULTS_COLUMNS`` that any
    epoch has, and ``x/lr0``, the learning rate of each epoch's last step."""
    frame = pd.DataFrame(epochs)
    out = pd.DataFrame({"epoch": frame["epoch"]})
    for column, source in RESULTS_COLUMNS.items():
        if source in frame:
            out[column] = frame[source]
    last_lr = {row["epoch"]: row["lr"] for row in history if "lr" in row}
    out["x/lr0"] = [last_lr.get(e, math.nan) for e in frame["epoch"]]
    return out


class RunLogs:
    """The logs of one run folder; ``epoch_done`` after each epoch, ``close`` when training ends. Without a
    folder (``run_dir=None``: a run kept in memory, or a rank other than 0) both do nothing."""

    def __init__(self, run_dir: Path | None):
        self.run_dir = Path(run_dir) if run_dir is not None else None
        self._writer = None
        self._no_tensorboard = False  # set once opening a writer failed or tensorboard is missing

    def epoch_done(self, history: list[dict], epochs: list[dict]) -> None:
        if self.run_dir is None or not epochs:  # no finished epoch (a checkpoint of the start): nothing to log
            return
        results = results_table(history, epochs)
        write_text(self.run_dir / "results.csv", results.to_csv(index=False))
        write_text(self.run_dir / "epochs.csv", pd.DataFrame(epochs).to_csv(index=False))
        write_text(self.run_dir / "history.csv", pd.DataFrame(history).to_csv(index=False))
        self._tensorboard(results.iloc[-1])

    def _tensorboard(self, row: pd.Series) -> None:
        if self._writer is None and not self._no_tensorboard:
            self._writer = self._open_tensorboard()
        if self._writer is None:
            return
        epoch = int(row["epoch"])
        for tag, value in row.items():
            if tag != "epoch" and pd.notna(value):
                self._writer.add_scalar(tag, float(value), epoch)
        self._writer.flush()  # a killed run keeps this epoch's scalars

    def _open_tensorboard(self):
        """A ``SummaryWriter`` on ``tensorboard/``; None (and no further try) when the package is missing or its
        install is broken: a log must never stop a run, so a broken one is one warning, and results.csv goes on."""
        self._no_tensorboard = True
        if not tensorboard_installed():
            return None
        try:
            from torch.utils.tensorboard import SummaryWriter

            writer = SummaryWriter(str(self.run_dir / TENSORBOARD_DIR))
        except Exception as e:  # e.g. a protobuf that this tensorboard cannot use
            warnings.warn(f"tensorboard is installed but cannot write ({type(e).__name__}: {e}); "
                          "results.csv is written without it", stacklevel=2)
            return None
        self._no_tensorboard = False
        return writer

    def close(self) -> None:
        if self._writer is not None:
            self._writer.close()
            self._writer = None


def where_to_look(run_dir: Path) -> str:
    """The line ``python -m lib.train`` prints before it trains: which files grow, and how to see them."""
    tb = (f"; TensorBoard: tensorboard --logdir {Path(run_dir) / TENSORBOARD_DIR}" if tensorboard_installed()
          else " (pip install tensorboard for TensorBoard curves)")
    return f"training into {run_dir}: results.csv and history.csv grow after every epoch{tb}"

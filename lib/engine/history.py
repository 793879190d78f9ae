"""The columns a run logs, in one place: what the report and the benchmarks may read.

``history.csv``: one row per optimizer step.
    epoch, step                 0-based counters
    loss_<task>                 unweighted task loss of the step (tasks: det, view); with several
                                processes the mean over ranks (the global batch's loss)
    loss_box, loss_obj, loss_cls  YOLOv5's detection loss terms (box CIoU, objectness, jet class)
    w_<task>                    the weight the task's loss carried in this step's gradient
    grad_cos, grad_gms, grad_norm_det, grad_norm_view
                                gradient interference on the shared parameters (``lib.evaluate.interference``),
                                every ``interference_every`` steps, empty otherwise (with several
                                processes: measured on rank 0's shard)
    grad_cos.<layer>            the same cosine on one shared layer's parameters (``MultiTaskModel.shared_layers``)
    <method>_*                  method-specific values (``gradnorm_G0``, ``gradnorm_loss``, ``famo_z0``,
                                ``pcgrad_conflict``, ``cagrad_w0``, ``log_var0``, ...)
    lr                          learning rate of the step (first parameter group)
    grad_scale, skipped         with ``amp='fp16'`` only: the GradScaler's scale after the step, and 1
                                where it skipped the step (an infinite or NaN gradient), else 0
    step_time, data_time, interference_time   seconds (step_time excludes the measurement)

``epochs.csv``: one row per epoch.
    epoch, epoch_time, steps, mean loss_* and w_* of the epoch,
    val_<metric>, val_loss_<task>, eval_time  on epochs that were evaluated (``eval_every``, and the last)

``results.csv``: ``epochs.csv`` under YOLOv5's ``results.csv`` column names (``lib.engine.logs.RESULTS_COLUMNS``).
All three CSVs are rewritten after every epoch while the run trains (``lib.engine.logs``), so it can be watched.

``metrics.json``: the final figures (``summarise``): ``<split>_<metric>`` for val and test
(``EVAL_METRICS``), parameters (total and per part), training seconds, median step time,
peak/training memory, device, mean interference and conflict rate, final task weights; ``world_size``
(processes that trained the run) and, with ``amp='fp16'``, ``skipped_steps``. Stopping
(``lib.engine.stopping``): ``stopped_epoch`` (1-based, the last trained), ``best_epoch`` (1-based, the
epoch whose weights the val_/test_ figures score: the best validation with ``patience``, else the last),
``converged`` (the patience rule fired: no improvement for ``patience`` evaluated epochs; None without
patience) and ``val_fitness`` (``stopping.fitness`` of the val_ figures: the best with ``patience``).
"""
from __future__ import annotations

import pandas as pd

from .stopping import fitness

TIMING_COLUMNS = ("step_time", "data_time", "interference_time", "epoch_time", "eval_time")
INTERFERENCE_COLUMNS = ("grad_cos", "grad_gms", "grad_norm_det", "grad_norm_view")
EVAL_METRICS = ("mAP50", "mAP50_95", "precision", "recall", "f1", "view_accuracy", "view_macro_f1")


def weight_columns(tasks) -> list[str]:
    return [f"w_{t}" for t in tasks]


def loss_columns(tasks) -> list[str]:
    return [f"loss_{t}" for t in tasks]


def summarise(history: pd.DataFrame, epochs: pd.DataFrame, evals: dict, tasks, parameter_counts: dict,
              memory, device, plateau) -> dict:
    """The run's ``metrics.json``: evaluation figures per split, size, time, memory, final weights, and where
    it stopped (``plateau``: the run's ``lib.engine.stopping.Plateau``). ``evals["val"]`` is required."""
    out: dict = {}
    for split, res in evals.items():
        out.update({f"{split}_{k}": v for k, v in res.metrics().items()})
    out.update({
        "parameters": parameter_counts["total"],
        **{f"parameters_{k}": v for k, v in parameter_counts.items() if k != "total"},
        "train_seconds": float(history["step_time"].sum() + history["data_time"].sum()),
        "seconds_per_epoch": float(epochs["epoch_time"].mean()),
        "seconds_per_step": float(history["step_time"].median()),
        "steps": int(len(history)),
        "peak_memory_mb": memory.peak_mb,          # RSS on the CPU, allocator peak on CUDA
        "train_memory_mb": memory.increase_mb,     # above the level when training began
        "device": str(device),
    })
    stopped = int(epochs["epoch"].iloc[-1]) + 1
    out.update(stopped_epoch=stopped, **plateau.summary(stopped), val_fitness=fitness(evals["val"].metrics(), tasks))
    for key in ("grad_cos", "grad_gms"):
        if key in history:
            out[f"mean_{key}"] = float(history[key].mean())
    if "grad_cos" in history and history["grad_cos"].notna().any():
        out["conflict_rate"] = float((history["grad_cos"].dropna() < 0).mean())
    for t in tasks:
        out[f"final_w_{t}"] = float(history[f"w_{t}"].iloc[-1])
    return out

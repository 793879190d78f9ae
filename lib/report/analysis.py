"""Tables the report sections compute from runs. Each function is one table's definition.

Definitions used throughout (stated once, here):
- weighted loss: sum_i w_i L_i, the loss the optimiser saw; total loss: L_det + L_view unweighted.
- weights "settled": from the first step after which every weight stays within ``tol`` (relative)
  of its final value; the epoch they settle in is that step's logged epoch (``settle_epoch``).
- loss fluctuation: standard deviation / mean of the per-step total loss over the last epoch.
- metrics are on the ``test`` split unless a table says otherwise; ``val`` selects (grid, alpha).
"""
from __future__ import annotations

import math

import numpy as np
import pandas as pd

from ..experiments.methods import SINGLE_TASK
from .stats import bounds_of, delta_m, format_ci, mean_ci

HEADLINE = {  # metric -> (label, higher is better)
    "mAP50": ("mAP@0.5", True),
    "mAP50_95": ("mAP@0.5:0.95", True),
    "precision": ("precision", True),
    "recall": ("recall", True),
    "view_accuracy": ("view accuracy", True),
    "view_macro_f1": ("view macro-F1", True),
}
# task -> {metric: higher is better}; Delta-m% averages within a task first (``stats.delta_m``)
DELTA_M_TASKS = {"det": {"mAP50": True, "mAP50_95": True}, "view": {"view_accuracy": True}}


def weight_columns(history: pd.DataFrame) -> list[str]:
    return [c for c in ("w_det", "w_view") if c in history]


def with_losses(history: pd.DataFrame) -> pd.DataFrame:
    h = history.copy()
    tasks = [t for t in ("det", "view") if f"loss_{t}" in h]
    h["loss_total"] = sum(h[f"loss_{t}"] for t in tasks)
    h["loss_weighted"] = sum(h[f"loss_{t}"] * h[f"w_{t}"] for t in tasks)
    return h


def epoch_losses(history: pd.DataFrame) -> pd.DataFrame:
    """Per epoch: weighted (optimised) loss, detection, classification, total (the upstream report's four columns)."""
    h = with_losses(history)
    cols = {"loss_weighted": "weighted", "loss_det": "detection", "loss_view": "classification", "loss_total": "total"}
    out = h.groupby("epoch")[[c for c in cols if c in h]].mean().rename(columns=cols)
    out.index = out.index + 1
    return out


def settle_step(history: pd.DataFrame, tol: float = 0.05) -> int:
    """First step (row) from which every weight stays within ``tol`` of its final value, relative to
    ``max(|final|, 1e-12)``: a weight collapsing towards 0 counts as settled once within 1e-12 x ``tol``."""
    ok = np.ones(len(history), dtype=bool)
    for c in weight_columns(history):
        w = history[c].to_numpy()
        final = w[-1]
        ok &= np.abs(w - final) <= tol * max(abs(final), 1e-12)
    bad = np.flatnonzero(~ok)
    return int(bad[-1] + 1) if len(bad) else 0


def settle_epoch(history: pd.DataFrame, tol: float = 0.05) -> int:
    """The epoch (1-based, counted from the history's first logged epoch, whether that is 0 or 1) in
    which the weights settle: the epoch of ``settle_step``'s step (1 when they never move). The one
    definition sections 2 and 5 use."""
    epochs = history["epoch"]
    return int(epochs.iloc[min(settle_step(history, tol), len(history) - 1)] - epochs.iloc[0]) + 1


def loss_fluctuation(history: pd.DataFrame) -> float:
    h = with_losses(history)
    last = h[h["epoch"] == h["epoch"].max()]["loss_total"]
    return float(last.std(ddof=1) / last.mean()) if len(last) > 1 else math.nan


def weight_summary(history: pd.DataFrame) -> pd.DataFrame:
    """Initial and final weight of each task, change and relative change (the upstream report's core table rows)."""
    rows = {}
    for c in weight_columns(history):
        w0, w1 = float(history[c].iloc[0]), float(history[c].iloc[-1])
        rows[f"weight {c[2:]}"] = {"initial": w0, "final": w1, "change": w1 - w0,
                                   "change %": 100 * (w1 - w0) / w0 if w0 else math.nan}
    return pd.DataFrame(rows).T


def adjustment(history: pd.DataFrame) -> pd.DataFrame:
    """How often and how much the weights move (the last epoch: the rows of the last logged epoch)."""
    rows = {}
    last_epoch = history["epoch"] == history["epoch"].max()
    for c in weight_columns(history):
        d = history[c].diff().abs()
        changed = d.iloc[1:] > 1e-12
        rows[c[2:]] = {
            "steps with a change": int(changed.sum()),
            "share of steps": float(changed.mean()) if len(changed) else math.nan,
            "mean |change| per step": float(d.iloc[1:].mean()) if len(changed) else math.nan,
            "largest |change| in one step": float(d.iloc[1:].max()) if len(changed) else math.nan,
            "largest |change| in the last epoch": float(d[last_epoch].max()) if len(changed) else math.nan,
        }
    return pd.DataFrame(rows).T


def epochs_trained(run) -> int:
    """Epochs the run trained: ``stopped_epoch`` (a plateau may stop it before ``config.epochs``), else all."""
    return int(run.metrics.get("stopped_epoch") or run.config.epochs)


def efficiency(run) -> dict:
    m, h = run.metrics, run.history
    return {
        "training time (s)": m["train_seconds"],
        "time per epoch (s)": m["train_seconds"] / epochs_trained(run),
        "time per step, median (s)": float(h["step_time"].median()),
        "steps": int(len(h)),
        "parameters": m["parameters"],
        "peak memory (MiB)": m["peak_memory_mb"],
        "training memory above baseline (MiB)": m.get("train_memory_mb", math.nan),
        "device": m["device"],
    }


def core_table(run) -> pd.DataFrame:
    """The upstream report's core GradNorm table for one run: weights (initial, final, change), the average weighted
    loss over all steps, training time, parameters and the test metrics, in one ``final`` column."""
    t = weight_summary(run.history)
    t.loc["average weighted loss (all steps)", "final"] = float(with_losses(run.history)["loss_weighted"].mean())
    t.loc["training time (s)", "final"] = run.metrics["train_seconds"]
    t.loc["parameters", "final"] = run.metrics["parameters"]
    t.loc["test mAP@0.5", "final"] = run.metrics["test_mAP50"]
    t.loc["test view accuracy", "final"] = run.metrics["test_view_accuracy"]
    return t


def convergence(run) -> dict:
    h = run.history
    return {
        "weights settled at step": settle_step(h),
        "weights settled in epoch": settle_epoch(h),
        "loss fluctuation, last epoch (std/mean)": loss_fluctuation(h),
        "final weighted loss (last-epoch mean)": float(epoch_losses(h)["weighted"].iloc[-1]),
    }


def run_row(run, split: str = "test") -> dict:
    m = run.metrics
    row = {k: m.get(f"{split}_{k}", math.nan) for k in HEADLINE}
    row.update({
        "parameters": m["parameters"],
        "time per epoch (s)": m["train_seconds"] / epochs_trained(run),
        "epochs trained": epochs_trained(run),
        "peak memory (MiB)": m["peak_memory_mb"],
        "training memory (MiB)": m.get("train_memory_mb", math.nan),
        "mean grad cosine": m.get("mean_grad_cos", math.nan),
        "conflict rate": m.get("conflict_rate", math.nan),
        # stopped on a validation plateau (lib.engine.stopping); a run without the rule is not shown converged
        "converged": m.get("converged") is True,
    })
    return row


def per_seed(runs: dict, split: str = "test") -> pd.DataFrame:
    """One row per (method, seed); ``run``: the run folder's name (two rows that name one configuration, a
    tuned row and the method whose setting it selected, share it)."""
    rows = [{"method": m, "seed": s, "run": getattr(getattr(r, "path", None), "name", None), **run_row(r, split)}
            for (m, s), r in runs.items()]
    return pd.DataFrame(rows)


def reference_metrics(runs: dict, split: str = "test") -> dict[int, dict]:
    """Single-task references per seed: detection metrics from det_only, view metrics from view_only."""
    ref: dict[int, dict] = {}
    for (m, s), r in runs.items():
        if m == "det_only":
            ref.setdefault(s, {}).update({k: r.metrics[f"{split}_{k}"] for k in ("mAP50", "mAP50_95")})
        elif m == "view_only":
            ref.setdefault(s, {})["view_accuracy"] = r.metrics[f"{split}_view_accuracy"]
    return ref


def comparison(runs: dict, split: str = "test", order=None) -> tuple[pd.DataFrame, pd.DataFrame]:
    """(numbers, display): mean and 95% interval over seeds per method, with Delta-m% vs single-task runs."""
    table = per_seed(runs, split)
    refs = reference_metrics(runs, split)
    table["delta_m %"] = [
        delta_m(row, refs.get(row["seed"], {}), DELTA_M_TASKS) if row["method"] not in SINGLE_TASK
        else math.nan for row in table.to_dict("records")]
    cols = list(HEADLINE) + ["delta_m %", "mean grad cosine", "conflict rate", "parameters", "time per epoch (s)",
                             "epochs trained", "peak memory (MiB)", "training memory (MiB)"]
    methods = order or list(dict.fromkeys(table["method"]))
    numbers, display = [], []
    for m in methods:
        sub = table[table["method"] == m]
        if sub.empty:
            continue
        num, disp = {"method": m, "seeds": len(sub)}, {"method": m, "seeds": len(sub)}
        for c in cols:
            mean, lo, hi = mean_ci(sub[c])
            num[c], num[c + " low"], num[c + " high"] = mean, lo, hi
            digits = 0 if c in ("parameters", "peak memory (MiB)", "training memory (MiB)") else (1 if c in ("delta_m %", "time per epoch (s)", "epochs trained") else 3)
            disp[HEADLINE.get(c, (c,))[0]] = format_ci(mean, lo, hi, digits, bounds_of(c))
        numbers.append(num)
        display.append(disp)
    return pd.DataFrame(numbers).set_index("method"), pd.DataFrame(display).set_index("method")

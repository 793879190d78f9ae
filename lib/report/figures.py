"""The report's figures. Each function takes runs or tables and returns a matplotlib Figure."""
from __future__ import annotations

import math

import matplotlib.pyplot as plt
import numpy as np
import pandas as pd
import seaborn as sns

from .stats import bounds_of

sns.set_theme(style="whitegrid", context="notebook")
TASK_COLOURS = {"det": "tab:blue", "view": "tab:orange"}


def epoch_boundaries(ax, history: pd.DataFrame) -> None:
    starts = history.groupby("epoch")["step"].min().iloc[1:]
    for s in starts:
        ax.axvline(s, color="0.75", lw=0.8, ls=":")


def weight_curves(history: pd.DataFrame, title: str = "", ax=None):
    """Per-step task weights with dotted epoch boundaries."""
    fig, ax = (ax.figure, ax) if ax is not None else plt.subplots(figsize=(7, 3.2))
    for t in ("det", "view"):
        if f"w_{t}" in history:
            ax.plot(history["step"], history[f"w_{t}"], label=f"w_{t}", color=TASK_COLOURS[t])
    epoch_boundaries(ax, history)
    ax.set(xlabel="step", ylabel="task weight", title=title)
    ax.set_ylim(bottom=0)  # a weight is never negative
    ax.legend(loc="best")
    return fig


def loss_curves(history: pd.DataFrame, title: str = "", smooth: int = 10, ax=None):
    fig, ax = (ax.figure, ax) if ax is not None else plt.subplots(figsize=(7, 3.2))
    for t in ("det", "view"):
        if f"loss_{t}" in history:
            ax.plot(history["step"], history[f"loss_{t}"].rolling(smooth, min_periods=1).mean(),
                    label=f"L_{t} (mean of {smooth} steps)", color=TASK_COLOURS[t])
    epoch_boundaries(ax, history)
    ax.set(xlabel="step", ylabel="loss", title=title, yscale="log")
    ax.legend(loc="best")
    return fig


def method_grid(runs: dict, draw, ncols: int = 4, width: float = 3.6, height: float = 2.6, sharey=False):
    """One small panel per run (keys are labels), drawn by ``draw(run, ax)``."""
    n = len(runs)
    ncols = min(ncols, n)
    nrows = math.ceil(n / ncols)
    fig, axes = plt.subplots(nrows, ncols, figsize=(width * ncols, height * nrows), squeeze=False, sharey=sharey)
    for ax, (label, run) in zip(axes.flat, runs.items()):
        draw(run, ax)
        ax.set_title(str(label), fontsize=10)
    for ax in axes.flat[n:]:
        ax.set_visible(False)
    fig.tight_layout()
    return fig


def heatmap(df: pd.DataFrame, title: str = "", fmt: str = "d", ax=None, cmap="Blues"):
    fig, ax = (ax.figure, ax) if ax is not None else plt.subplots(figsize=(1.1 * df.shape[1] + 1.5, 0.8 * df.shape[0] + 1))
    sns.heatmap(df, annot=True, fmt=fmt, cmap=cmap, cbar=False, ax=ax)
    ax.set(title=title, xlabel=df.columns.name or "predicted", ylabel=df.index.name or "true")
    ax.tick_params(axis="x", labelrotation=45)
    return fig


def pr_curves(curves: pd.DataFrame, title: str = "", ax=None):
    """Precision-recall at IoU 0.5, one line per class (from the evaluation's ``pr_curves`` table)."""
    fig, ax = (ax.figure, ax) if ax is not None else plt.subplots(figsize=(4.2, 3.6))
    for cls, sub in curves.groupby("class", sort=False):
        ax.plot(sub["recall"], sub["precision"], label=str(cls))
    ax.set(xlim=(0, 1), ylim=(0, 1.02), xlabel="recall", ylabel="precision", title=title)
    ax.legend(loc="lower left", fontsize=8)
    return fig


def _error_bar(row: pd.Series, metric: str):
    """``[[below], [above]]`` for ``errorbar`` from the row's interval, cut to the metric's range; None without one."""
    low, high = row.get(f"{metric} low", math.nan), row.get(f"{metric} high", math.nan)
    if math.isnan(low):
        return None
    lo_b, hi_b = bounds_of(metric) or (-math.inf, math.inf)
    return [[row[metric] - max(low, lo_b)], [min(high, hi_b) - row[metric]]]


def pareto(numbers: pd.DataFrame, x: str = "mAP50", y: str = "view_accuracy", front=None, ax=None,
           unconverged=()):
    """Methods in the (detection, classification) plane with their 95% intervals. ``front``: method -> in the
    Pareto set read from paired intervals (red); the set is not joined by a line, since with overlapping
    intervals it is a set of points, not a curve. ``unconverged``: methods with a run that did not stop on a
    validation plateau, drawn hollow and labelled so (their verdicts are withheld)."""
    fig, ax = (ax.figure, ax) if ax is not None else plt.subplots(figsize=(6.5, 5))
    same: dict[tuple, str] = {}  # methods at one point (e.g. a tuned weight that is upstream's) share one label
    for m, r in numbers.iterrows():
        key = (round(float(r[x]), 9), round(float(r[y]), 9))
        name = f"{m} (not converged)" if m in unconverged else m
        same[key] = f"{same[key]} = {name}" if key in same else name
        xerr, yerr = (_error_bar(r, k) for k in (x, y))
        on_front = front is not None and bool(front.get(m, False))
        color = "tab:red" if on_front else "tab:gray"
        ax.errorbar(r[x], r[y], xerr=xerr, yerr=yerr, fmt="o", ms=7 if on_front else 5, color=color, capsize=2,
                    mfc="none" if m in unconverged else color)
    for (px, py), label in same.items():
        ax.annotate(label, (px, py), xytext=(4, 4), textcoords="offset points", fontsize=8, clip_on=True)
    labels = {"mAP50": "mAP@0.5", "mAP50_95": "mAP@0.5:0.95", "view_accuracy": "view accuracy"}
    ax.set(xlabel=f"{labels.get(x, x)} (test)", ylabel=f"{labels.get(y, y)} (test)",
           title="detection vs view classification; red: Pareto set (paired intervals); hollow: not converged")
    return fig


def overlays(images: list[np.ndarray], gts: list[np.ndarray], preds: list[np.ndarray], titles: list[str],
             names, ncols: int = 4):
    """Images with ground-truth boxes (green) and predictions (red, with class and confidence)."""
    n = len(images)
    nrows = math.ceil(n / ncols)
    fig, axes = plt.subplots(nrows, ncols, figsize=(3.2 * ncols, 3.3 * nrows), squeeze=False)
    for ax, img, gt, pr, title in zip(axes.flat, images, gts, preds, titles):
        ax.imshow(img)
        for c, x1, y1, x2, y2 in gt:
            ax.add_patch(plt.Rectangle((x1, y1), x2 - x1, y2 - y1, fill=False, ec="lime", lw=1.5))
            ax.text(x1, y2 + 3, names[int(c)], color="lime", fontsize=7, va="top")
        for x1, y1, x2, y2, conf, c in pr:
            ax.add_patch(plt.Rectangle((x1, y1), x2 - x1, y2 - y1, fill=False, ec="red", lw=1.2, ls="--"))
            ax.text(x1, y1 - 2, f"{names[int(c)]} {conf:.2f}", color="red", fontsize=7)
        ax.set_title(title, fontsize=8)
        ax.axis("off")
    for ax in axes.flat[n:]:
        ax.set_visible(False)
    fig.tight_layout()
    return fig


def tuning_curves(selection: pd.DataFrame, references: pd.Series | None = None, ax=None):
    """Each tuned row's settings in the validation (detection, classification) plane, joined in grid order
    (for the static weight: its trade-off curve), the selected setting ringed; dashed lines: the single-task
    references (``references``: mAP50, view_accuracy). ``selection``: ``tuning.Tuned.selection``."""
    fig, ax = (ax.figure, ax) if ax is not None else plt.subplots(figsize=(6.5, 5))
    for row, g in selection.groupby(level="row", sort=False):
        line, = ax.plot(g["val mAP50"], g["val view accuracy"], "o-", ms=4, label=row)
        for (_, setting), r in g.iterrows():
            ax.annotate(setting, (r["val mAP50"], r["val view accuracy"]), xytext=(3, 3),
                        textcoords="offset points", fontsize=7, clip_on=True)
        best = g[g["selected"].astype(bool)]
        ax.plot(best["val mAP50"], best["val view accuracy"], "o", ms=11, mfc="none", color=line.get_color())
    if references is not None:
        if "mAP50" in references:
            ax.axvline(references["mAP50"], ls="--", color="gray", lw=1, label="detection alone")
        if "view_accuracy" in references:
            ax.axhline(references["view_accuracy"], ls=":", color="gray", lw=1, label="classification alone")
    ax.set(xlabel="mAP@0.5 (val)", ylabel="view accuracy (val)",
           title="tuning: every setting on validation; ringed: selected")
    ax.legend(fontsize=8)
    return fig


def validation_curves(runs: dict, metrics=(("val_mAP50", "validation mAP@0.5"),
                                           ("val_view_accuracy", "validation view accuracy"))):
    """Every run's validation curve per epoch, one colour per row and one line per seed; a ring marks the
    epoch whose weights were tested (``best_epoch``). ``runs``: (row, seed) -> Run."""
    fig, axes = plt.subplots(1, len(metrics), figsize=(5.5 * len(metrics), 3.6), squeeze=False)
    colours = dict(zip(dict.fromkeys(m for m, _ in runs), sns.color_palette(n_colors=len(runs))))
    for (row, seed), r in runs.items():
        e = r.epochs.dropna(subset=[k for k, _ in metrics], how="all")  # evaluated epochs
        best = r.metrics.get("best_epoch")
        for ax, (key, _) in zip(axes[0], metrics):
            if key not in e or e[key].isna().all():
                continue
            label = row if seed == min(s for m, s in runs if m == row) else None
            ax.plot(e["epoch"] + 1, e[key], lw=1, alpha=0.7, color=colours[row], label=label)
            at = e[e["epoch"] + 1 == best]
            ax.plot(at["epoch"] + 1, at[key], "o", mfc="none", color=colours[row])
    for ax, (_, title) in zip(axes[0], metrics):
        ax.set(title=title, xlabel="epoch")
        ax.legend(fontsize=7)
    return fig


def prediction_overlays(run, dataset, indices, conf: float = 0.25, ncols: int = 4):
    """``overlays`` of the run's saved model on ``dataset``'s frames ``indices`` (an ``EchoDataset``):
    ground truth, predictions at confidence >= ``conf``, and the true and predicted view in each title."""
    import torch

    from ..data import make_loader
    from ..evaluate import predictions, targets_to_xyxy

    subset = torch.utils.data.Subset(dataset, list(indices))
    subset.names, subset.view_names = dataset.names, dataset.view_names
    preds = predictions(run.load_model(), make_loader(subset, 16, shuffle=False, seed=0), conf_thres=conf)
    images, gts, boxes, titles = [], [], [], []
    for p in preds:
        img, targets, view, _ = dataset[p["index"]]  # a sample carries its index in the whole split
        images.append(img.permute(1, 2, 0).numpy())
        gts.append(targets_to_xyxy(torch.cat((torch.zeros(len(targets), 1), targets), 1), 1, img.shape[-1])[0].numpy())
        boxes.append(p["boxes"].numpy())
        shown = dataset.view_names[p["view_pred"]] if p["view_pred"] is not None else "-"
        titles.append(f"true {dataset.view_names[view]} / pred {shown}")
    return overlays(images, gts, boxes, titles, dataset.names, ncols=ncols)

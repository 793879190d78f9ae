"""Findings (section 7): GradNorm's weight optimizer x learning rate x alpha sweep, and its reading.

Why the sweep has three axes: with Adam on the weights, d L_grad / d w_i =
sign(G_i - target_i) ||grad_W L_i||, and Adam divides a gradient by its own
running magnitude, so every w_i moves by about the learning rate per step
whatever alpha is; alpha only decides the direction (through the target).
An alpha sweep at one Adam learning rate therefore mostly measures that
learning rate. SGD steps by lr x the gradient, so its pace follows the
gradient norms. Each cell of the sweep is one run; the selection among them
is the report's one rule (best validation Delta-m%, ``comparison.select_on_validation``).
"""
from __future__ import annotations

import inspect
import math

import numpy as np
import pandas as pd

from ..experiments.methods import gradnorm_label
from ..weighting import GradNorm
from .comparison import select_on_validation
from .stats import format_number

GRADNORM_DEFAULTS = {k: v.default for k, v in inspect.signature(GradNorm).parameters.items()
                     if v.default is not inspect.Parameter.empty}


def sweep_labels(alphas, optimizers: dict[str, list[float]]) -> list[str]:
    """Method labels of alpha x (optimizer, lr); GradNorm's own default optimizer and lr keep the plain
    ``gradnorm_a<alpha>`` label, so the default runs are the same runs as elsewhere in the report."""
    out = []
    for opt, lrs in optimizers.items():
        for lr in lrs:
            default = opt == GRADNORM_DEFAULTS["optimizer"] and float(lr) == GRADNORM_DEFAULTS["lr"]
            out += [gradnorm_label(a) if default else gradnorm_label(a, opt, lr) for a in alphas]
    return list(dict.fromkeys(out))


def _options(run) -> tuple[str, float, float]:
    o = run.config.weighting_options
    return (o.get("optimizer", GRADNORM_DEFAULTS["optimizer"]), float(o.get("lr", GRADNORM_DEFAULTS["lr"])),
            float(o.get("alpha", GRADNORM_DEFAULTS["alpha"])))


def weight_at_steps(history: pd.DataFrame, steps=(1, 5, 10)) -> dict[str, float]:
    """``w_det`` after k weight updates, for each k in ``steps`` (the history's row with 0-based ``step`` k
    holds the weight used at that step, i.e. after k updates)."""
    w = history.set_index("step")["w_det"]
    return {f"w_det after step {k}": float(w.get(k, math.nan)) for k in steps}


def sweep_table(runs: dict, labels: list[str]) -> tuple[str, pd.DataFrame]:
    """(selected label, table) over the sweep's runs: one row per label, indexed (optimizer, lr, alpha),
    means over seeds; ``runs`` also holds the single-task references for validation Delta-m%."""
    best, selection = select_on_validation(runs, labels)
    rows = []
    for label in labels:
        rs = [r for (m, _), r in runs.items() if m == label]
        opt, lr, alpha = _options(rs[0])
        row = {"optimizer": opt, "lr": lr, "alpha": alpha, "method": label,
               "val delta_m %": selection.loc[label, "val delta_m %"],
               "test mAP50": np.mean([r.metrics["test_mAP50"] for r in rs]),
               "test view accuracy": np.mean([r.metrics["test_view_accuracy"] for r in rs]),
               "final w_det": np.mean([r.history["w_det"].iloc[-1] for r in rs]),
               "min w over training": np.mean([r.history[["w_det", "w_view"]].min().min() for r in rs])}
        for k, v in weight_at_steps(rs[0].history).items():
            row[k] = v
        row["selected"] = label == best
        rows.append(row)
    table = pd.DataFrame(rows).set_index(["optimizer", "lr", "alpha"]).sort_index()
    return best, table


def _mean_range(table: pd.DataFrame, column: str, within: list[str]) -> float:
    """Mean over groups (equal values of ``within``) of max - min of ``column``."""
    spans = table.groupby(level=within)[column].agg(lambda s: s.max() - s.min())
    return float(spans.mean())


def _cell(key) -> str:
    return f"{key[0]} lr {key[1]:g} alpha {key[2]:g}"


def _survives(ahead: list, losses: int, n: int) -> str:
    if len(ahead) == n:
        return "survives every setting (GradNorm ahead)"
    if losses == n:
        return "survives every setting (GradNorm behind)"
    if not ahead and not losses:
        return "shows no difference in any setting"
    return ("depends on the setting (GradNorm ahead only with " + ", ".join(_cell(k) for k in ahead) + ")"
            if ahead else "depends on the setting (GradNorm never ahead)")


def _default_sentence(table: pd.DataFrame, selected) -> str:
    d = GRADNORM_DEFAULTS
    key = (d["optimizer"], float(d["lr"]), float(d["alpha"]))
    if key not in table.index or key == selected:
        return ""
    return (f"; GradNorm's defaults ({_cell(key)}, what a row without tuning runs) reach "
            f"{format_number(table.loc[key, 'test mAP50'])} and "
            f"{format_number(table.loc[key, 'test view accuracy'])}")


def sweep_reading(table: pd.DataFrame, original: dict[str, float]) -> str:
    """One paragraph read from the sweep: what alpha changes against what the weight optimizer and its
    learning rate change, which setting validation selects, and whether GradNorm's comparison with the
    original (fixed 1 / 0.01) weights survives across the sweep. ``original``: its test mAP50 and view
    accuracy."""
    by_alpha = _mean_range(table, "test mAP50", ["optimizer", "lr"])
    by_rate = _mean_range(table, "test mAP50", ["alpha"])
    early = table.filter(like="after step").round(4)
    swept = early.groupby(level=["optimizer", "lr"]).filter(lambda g: len(g) > 1)  # settings with >= 2 alphas
    same_start = swept.groupby(level=["optimizer", "lr"]).nunique().le(1).all(axis=1)
    n = len(table)
    det_ahead = list(table.index[table["test mAP50"] > original["mAP50"]])
    view_ahead = list(table.index[table["test view accuracy"] > original["view_accuracy"]])
    det_wins, view_wins = len(det_ahead), len(view_ahead)
    det_losses = int((table["test mAP50"] < original["mAP50"]).sum())
    view_losses = int((table["test view accuracy"] < original["view_accuracy"]).sum())
    sel = table[table["selected"]].index[0]
    parts = [
        f"Within one weight optimizer and learning rate, alpha moves test mAP@0.5 by {format_number(by_alpha)} on "
        f"average (max - min over alpha); across the {table.index.droplevel('alpha').nunique()} optimizer/learning-rate "
        f"settings at one alpha it moves by {format_number(by_rate)}.",
        (f"In the first steps the detection weight follows the same path for every alpha in "
         f"{int(same_start.sum())} of {len(same_start)} optimizer/learning-rate settings "
         f"({', '.join(f'{o} lr {lr:g}' for (o, lr), v in same_start.items() if v) or 'none'}): "
         f"there alpha only decides the direction, the learning rate sets the pace." if len(same_start) else
         "No setting ran more than one alpha, so the weights' paths cannot be compared across alpha."),
        f"Validation Delta-m% selects {sel[0]} with lr {sel[1]:g} and alpha {sel[2]:g} (test mAP@0.5 "
        f"{format_number(table.loc[sel, 'test mAP50'])}, view accuracy "
        f"{format_number(table.loc[sel, 'test view accuracy'])})" + _default_sentence(table, sel) + ".",
        f"Against the original fixed weights at the sweep's seed(s) (test mAP@0.5 {format_number(original['mAP50'])}, "
        f"view accuracy {format_number(original['view_accuracy'])}; the sweep's seeds only, not the comparison over every seed of "
        f"section 4), GradNorm detects better in {det_wins} of {n} settings "
        f"and classifies views better in {view_wins} of {n}: "
        + "; ".join(f"the comparison's reading on {what} {_survives(ahead, lost, n)}"
                    for what, ahead, lost in (("detection", det_ahead, det_losses),
                                              ("view accuracy", view_ahead, view_losses))) + ".",
    ]
    return " ".join(parts)

"""Does the shared trunk see interference, and of which kind? Read from the runs' histories over seeds.

Per run (one seed): the mean over logged steps of the shared-gradient cosine ``grad_cos`` and of
log(|g_det| / |g_view|) from ``grad_norm_det`` / ``grad_norm_view`` (columns of
``lib.engine.history``, measured by ``lib.evaluate.interference``). Over runs: the mean and Student-t
interval of each (``stats.mean_ci``), the run being the unit, not the step (steps of one run are not
independent). The evidence is

- "conflicting directions": the cosine's interval lies below zero (the tasks' gradients oppose on average);
- "loss-scale imbalance": the log norm ratio's interval excludes zero while the cosine's does not lie
  below zero (the directions agree or are unrelated, but one task's gradient dominates the update);
- "no interference shown": neither (including fewer than two runs, where no interval exists).

Per shared layer (``grad_cos.<layer>`` columns, where the runs logged them): the same mean and interval of
each run's mean cosine (``layer_summary``), read the same way, so a trunk-wide cosine near zero can be told
apart from layers that conflict beside layers that agree.
"""
from __future__ import annotations

import math
from typing import Iterable

import numpy as np
import pandas as pd

from .stats import mean_ci

CONFLICT, IMBALANCE, NONE_SHOWN = "conflicting directions", "loss-scale imbalance", "no interference shown"
COLUMNS = ("grad_cos", "grad_norm_det", "grad_norm_view")
LAYER_PREFIX = "grad_cos."
AGREE, CONFLICT_LAYER, UNSEPARATED = "agree", "conflict", "not separated from zero"


def run_interference(history: pd.DataFrame) -> tuple[float, float]:
    """(mean cosine, mean log norm ratio ln(|g_det| / |g_view|)) over the steps of one run where they were
    measured (rows with the columns empty are steps between measurements); NaN where none was. Raises
    ``ValueError`` naming the missing columns."""
    missing = [c for c in COLUMNS if c not in history.columns]
    if missing:
        raise ValueError(f"run_interference: the history lacks {missing} (see lib.engine.history)")
    cos = history["grad_cos"].dropna()
    det, view = history["grad_norm_det"].to_numpy(float), history["grad_norm_view"].to_numpy(float)
    ok = (det > 0) & (view > 0)  # NaN compares False: unmeasured steps drop out
    ratio = np.log(det[ok] / view[ok])
    return (float(cos.mean()) if len(cos) else math.nan, float(ratio.mean()) if len(ratio) else math.nan)


def classify(cos: tuple[float, float, float], log_ratio: tuple[float, float, float]) -> str:
    """The evidence from the two (mean, low, high) intervals (see the module docstring)."""
    if cos[2] < 0:
        return CONFLICT
    if log_ratio[1] > 0 or log_ratio[2] < 0:
        return IMBALANCE
    return NONE_SHOWN


def interference_summary(histories: Iterable[pd.DataFrame], level: float = 0.95) -> dict:
    """Over runs (one history per seed): n (runs with a measured cosine), the cosine and log norm ratio as
    mean with ``level`` t interval (keys ``cos``, ``cos low``, ``cos high``, ``log norm ratio``,
    ``log norm ratio low``, ``log norm ratio high``), the share of measured steps whose cosine is below
    zero (``conflict rate``, with ``low`` and ``high``) and ``evidence`` (``classify``)."""
    histories = list(histories)
    per_run = [run_interference(h) for h in histories]
    cos = mean_ci([c for c, _ in per_run], level)
    ratio = mean_ci([r for _, r in per_run], level)
    weighted = mean_ci([weighted_log_ratio(h) for h in histories], level)
    n = sum(not math.isnan(c) for c, _ in per_run)
    conflict = mean_ci([conflict_rate(h) for h in histories], level)
    layers = layer_summary(histories, level)
    return {"layers": len(layers), "layers conflicting": list(layers.index[layers["reading"] == CONFLICT_LAYER]),
            "layers agreeing": list(layers.index[layers["reading"] == AGREE]), "n": n, "cos": cos[0], "cos low": cos[1], "cos high": cos[2], "log norm ratio": ratio[0],
            "log norm ratio low": ratio[1], "log norm ratio high": ratio[2], "evidence": classify(cos, ratio),
            "weighted log norm ratio": weighted[0], "weighted log norm ratio low": weighted[1],
            "weighted log norm ratio high": weighted[2], "conflict rate": conflict[0],
            "conflict rate low": conflict[1], "conflict rate high": conflict[2]}


def conflict_rate(history: pd.DataFrame) -> float:
    """Share of one run's measured steps whose shared-gradient cosine is below zero (NaN: none measured)."""
    cos = history["grad_cos"].dropna() if "grad_cos" in history.columns else pd.Series(dtype=float)
    return float((cos < 0).mean()) if len(cos) else math.nan


def weighted_log_ratio(history: pd.DataFrame) -> float:
    """Mean over measured steps of ln(w_det |g_det| / (w_view |g_view|)): the ratio of what each task's
    gradient contributes to the update, with the loss weights the run used at that step (NaN without them)."""
    if not {"w_det", "w_view"} <= set(history.columns):
        return math.nan
    det, view = history["grad_norm_det"].to_numpy(float), history["grad_norm_view"].to_numpy(float)
    wd, wv = history["w_det"].to_numpy(float), history["w_view"].to_numpy(float)
    ok = (det > 0) & (view > 0) & (wd > 0) & (wv > 0)
    return float(np.log(wd[ok] * det[ok] / (wv[ok] * view[ok])).mean()) if ok.any() else math.nan


def layer_summary(histories: Iterable[pd.DataFrame], level: float = 0.95) -> pd.DataFrame:
    """One row per shared layer logged by every run (``grad_cos.<layer>``, in logged order), index ``layer``:
    ``n`` (runs), ``cos`` with its ``level`` t interval over runs (``cos low``, ``cos high``; each run's value
    is its mean over measured steps) and ``reading``: "conflict" (interval below zero), "agree" (above) or
    "not separated from zero". Empty when the runs logged no layer."""
    histories = list(histories)
    names = [c for c in (histories[0].columns if histories else []) if c.startswith(LAYER_PREFIX)]
    names = [c for c in names if all(c in h.columns for h in histories)]
    rows = {}
    for c in names:
        values = [float(h[c].dropna().mean()) if h[c].notna().any() else math.nan for h in histories]
        mean, low, high = mean_ci(values, level)
        reading = CONFLICT_LAYER if high < 0 else AGREE if low > 0 else UNSEPARATED
        rows[c[len(LAYER_PREFIX):]] = {"n": sum(not math.isnan(v) for v in values), "cos": mean, "cos low": low,
                                       "cos high": high, "reading": reading}
    return pd.DataFrame.from_dict(rows, orient="index", columns=["n", "cos", "cos low", "cos high", "reading"]
                                  ).rename_axis("layer")

"""Intervals and relative changes used by every comparison table."""
from __future__ import annotations

import math
from typing import Iterable

import numpy as np
import pandas as pd
from scipy import stats


def mean_ci(values: Iterable[float], level: float = 0.95) -> tuple[float, float, float]:
    """Mean and Student-t interval over independent runs (seeds); (mean, nan, nan) for one run."""
    x = np.asarray([v for v in values if v is not None and not math.isnan(v)], dtype=float)
    if len(x) == 0:
        return math.nan, math.nan, math.nan
    m = float(x.mean())
    if len(x) < 2:
        return m, math.nan, math.nan
    half = float(stats.t.ppf(0.5 + level / 2, len(x) - 1) * x.std(ddof=1) / math.sqrt(len(x)))
    return m, m - half, m + half


# Metrics whose value cannot leave a range: their intervals are shown cut at it. Keys are the column
# names of the per-run tables (lib.report.analysis) and of the comparison tables.
BOUNDS = {
    **dict.fromkeys(("mAP50", "mAP50_95", "precision", "recall", "view_accuracy", "view_macro_f1",
                     "conflict rate"), (0.0, 1.0)),
    "mean grad cosine": (-1.0, 1.0),
}


def bounds_of(metric: str) -> tuple[float, float] | None:
    """The range a metric cannot leave, or None (Delta-m %, times, memory)."""
    return BOUNDS.get(metric)


NA = "n/a"  # how a table shown to readers writes an undefined (NaN) value; CSVs keep NaN (an empty cell)


def is_missing(value) -> bool:
    """None or NaN: an undefined metric (e.g. detection on a split without ground-truth objects)."""
    return value is None or (np.ndim(value) == 0 and bool(pd.isna(value)))


def format_number(value, spec: str = ".3f", suffix: str = "") -> str:
    """``format(value, spec) + suffix``, or ``"n/a"`` for an undefined (None or NaN) value."""
    return NA if is_missing(value) else f"{format(value, spec)}{suffix}"


def relative_change(value, reference, digits: int = 1) -> str:
    """``+12.3%``: the change of ``value`` relative to ``reference``, or ``"n/a"`` when either is undefined
    or the reference is 0."""
    if is_missing(value) or is_missing(reference) or reference == 0:
        return NA
    return f"{100 * (value - reference) / reference:+.{digits}f}%"


CUT = "†"  # an interval limit cut at the metric's bound (the raw limit stays in the numbers CSV)
CUT_NOTE = "† the t interval crosses the metric's bound (0 or 1) and is cut there"


def format_ci(mean: float, low: float, high: float, digits: int = 3, bounds: tuple[float, float] | None = None) -> str:
    """``mean [low, high]`` (thousands separated); the interval is left out for one run or no spread, and cut at
    ``bounds`` for a bounded metric (a t-interval over 3 seeds can cross an accuracy of 1), the cut limit marked
    ``CUT`` (``0.944 [0.845, 1.000†]``). An undefined mean (None or NaN) is ``"n/a"``."""
    if is_missing(mean):
        return NA
    if is_missing(low) or is_missing(high) or low == high:
        return f"{mean:,.{digits}f}"
    lo_cut = hi_cut = ""
    if bounds is not None:
        lo_cut, hi_cut = (CUT if low < bounds[0] else ""), (CUT if high > bounds[1] else "")
        low, high = max(low, bounds[0]), min(high, bounds[1])
    return f"{mean:,.{digits}f} [{low:,.{digits}f}{lo_cut}, {high:,.{digits}f}{hi_cut}]"


def delta_m(metrics: dict[str, float], reference: dict[str, float],
            tasks: dict[str, dict[str, bool]]) -> float:
    """Delta_m% averaged per task: each task's mean signed relative change vs its single-task reference,
    then the mean over tasks, so a task scored by two metrics counts once.

    100/T * sum_t 1/K_t * sum_k (-1)^{l_k} (M_k - M_ref,k) / M_ref,k, with l_k = 1 where lower is better
    (Maninis et al. 2019, Vandenhende et al. 2021 average over metrics; grouping by task is ours).
    ``tasks``: task -> {metric: higher is better}. NaN when a metric or its reference is missing or the
    reference is 0. Raises ``ValueError`` for a task without metrics.
    """
    per_task = []
    for task, higher_is_better in tasks.items():
        if not higher_is_better:
            raise ValueError(f"delta_m: task {task!r} has no metrics")
        terms = []
        for k, higher in higher_is_better.items():
            m, ref = metrics.get(k, math.nan), reference.get(k, math.nan)
            if is_missing(m) or is_missing(ref) or ref == 0:
                return math.nan
            terms.append((m - ref) / ref * (1 if higher else -1))
        per_task.append(np.mean(terms))
    return 100.0 * float(np.mean(per_task))

"""The Pareto set read from paired intervals, not from means.

Method b dominates method a when b is better on both metrics with the paired difference's interval
(b - a over their common seeds, ``stats.mean_ci``) lying above zero on each. Means that differ inside
overlapping intervals dominate nothing, so with few seeds most methods stay on the front: the front
says what the runs can tell apart, no more.
"""
from __future__ import annotations

from typing import Sequence

import pandas as pd

from .stats import mean_ci


def _clearly_better(table: pd.DataFrame, b: str, a: str, metric: str, level: float) -> bool:
    """True when b - a on ``metric``, paired by seed, has an interval above zero."""
    xb = table[table["method"] == b].set_index("seed")[metric]
    xa = table[table["method"] == a].set_index("seed")[metric]
    seeds = sorted(set(xb.index) & set(xa.index))
    _, low, _ = mean_ci((xb.loc[seeds] - xa.loc[seeds]).tolist(), level)
    return bool(low > 0)  # NaN (fewer than two seeds) compares False


def pareto_from_intervals(table: pd.DataFrame, methods: Sequence[str], x: str, y: str,
                          level: float = 0.95) -> tuple[list[str], dict[str, list[str]]]:
    """(front, dominated_by): the methods no other dominates, in ``methods`` order, and for each
    dominated method the methods that dominate it. Higher is better on ``x`` and ``y``.

    ``table``: one row per (method, seed) with columns method, seed, ``x``, ``y``
    (``analysis.per_seed``). Raises ``ValueError`` for a missing column or a method without runs."""
    missing = [c for c in ("method", "seed", x, y) if c not in table.columns]
    if missing:
        raise ValueError(f"pareto_from_intervals: the table lacks columns {missing}")
    absent = [m for m in methods if m not in set(table["method"])]
    if absent:
        raise ValueError(f"pareto_from_intervals: no runs of {absent}")
    dominated_by = {}
    for a in methods:
        by = [b for b in methods if b != a
              and _clearly_better(table, b, a, x, level) and _clearly_better(table, b, a, y, level)]
        if by:
            dominated_by[a] = by
    return [m for m in methods if m not in dominated_by], dominated_by

"""Paired comparisons of methods against named references over seeds, with Holm's control of the family.

A comparison (method, reference, metric) pairs the two methods' runs by seed: the difference
d_s = M_method,s - M_reference,s over the n seeds both have, its mean and Student-t interval
(``stats.mean_ci``), and the two-sided paired t test (``scipy.stats.ttest_rel``). The p-values of
all comparisons made are adjusted together with Holm's step-down procedure (Holm 1979), so "established"
controls the chance of any false claim in the family at ``alpha``.
"""
from __future__ import annotations

import math
from typing import Iterable, Mapping, Sequence

import numpy as np
import pandas as pd
from scipy import stats as st

from .stats import mean_ci

ESTABLISHED, NOT_ESTABLISHED, WITHHELD = "established", "not established", "withheld"
COLUMNS = ("method", "reference", "metric", "n", "difference", "low", "high", "p", "p_holm", "converged", "status",
           "reason")


def holm(pvalues: Sequence[float]) -> np.ndarray:
    """Holm-Bonferroni adjusted p-values, in the input order: sorted ascending p_(1) <= ... <= p_(m),
    adjusted p_(i) = max_{j <= i} min(1, (m - j + 1) p_(j)). NaN entries stay NaN and are not counted in m."""
    p = np.asarray(pvalues, dtype=float)
    out = np.full(p.shape, math.nan)
    ok = np.flatnonzero(~np.isnan(p))
    order = ok[np.argsort(p[ok], kind="stable")]
    m = len(order)
    scaled = np.minimum(1.0, (m - np.arange(m)) * p[order])
    out[order] = np.maximum.accumulate(scaled)
    return out


def _check(table: pd.DataFrame, names: Iterable[str], metrics: Iterable[str]) -> None:
    missing = [c for c in ("method", "seed", *metrics) if c not in table.columns]
    if missing:
        raise ValueError(f"paired_tests: the table lacks columns {missing}; it has {list(table.columns)}")
    absent = sorted(set(names) - set(table["method"]))
    if absent:
        raise ValueError(f"paired_tests: no runs of {absent}; methods present: {sorted(set(table['method']))}")
    if table.duplicated(["method", "seed"]).any():
        dup = table.loc[table.duplicated(["method", "seed"]), ["method", "seed"]].values.tolist()
        raise ValueError(f"paired_tests: several rows for (method, seed) {dup}")


def _one(table: pd.DataFrame, method: str, reference: str, metric: str, min_n: int, level: float,
         budgets: Mapping[str, int]) -> dict:
    a = table[table["method"] == method].set_index("seed")
    b = table[table["method"] == reference].set_index("seed")
    seeds = sorted(set(a.index) & set(b.index))
    d = (a.loc[seeds, metric] - b.loc[seeds, metric]).astype(float)
    seeds = [s for s in seeds if not math.isnan(d[s])]
    d = d.loc[seeds]
    n = len(d)
    mean, low, high = mean_ci(d, level)
    p = float(st.ttest_rel(a.loc[seeds, metric], b.loc[seeds, metric]).pvalue) if n >= 2 else math.nan
    reason, converged = "", None
    if "run" in table.columns and seeds and all(
            a.loc[s, "run"] is not None and a.loc[s, "run"] == b.loc[s, "run"] for s in seeds):
        reason = "the same runs: one configuration under both names (a tuned row selected the other's setting)"
    if "converged" in table.columns:
        bad = [f"{m} seed {s}" for m, runs in ((method, a), (reference, b)) for s in seeds
               if not bool(runs.loc[s, "converged"])]
        converged = not bad
        if bad and not reason:
            reason = "run not converged: " + ", ".join(bad)
    if not reason and method in budgets and reference in budgets and budgets[method] != budgets[reference]:
        reason = (f"unequal tuning budgets: {method} {budgets[method]} setting(s), {reference} "
                  f"{budgets[reference]}")
    if not reason and n < min_n:
        reason = f"n = {n} seeds < {min_n}"
    if not reason and math.isnan(p):
        reason = "t test undefined (no spread of the difference over seeds)"
    return {"method": method, "reference": reference, "metric": metric, "n": n, "difference": mean,
            "low": low, "high": high, "p": p, "converged": converged, "reason": reason}


def compare(table: pd.DataFrame, comparisons: Iterable[tuple[str, str, str]], alpha: float = 0.05,
            min_n: int = 5, level: float = 0.95, budgets: Mapping[str, int] | None = None) -> pd.DataFrame:
    """One row per (method, reference, metric) in ``comparisons``, the family Holm's adjustment runs over.

    ``table``: one row per (method, seed) with the metric columns and, optionally, a boolean ``converged``
    (``analysis.per_seed`` gives this shape). Returns ``COLUMNS``: n (common seeds with the metric
    defined), mean difference (method - reference) and its ``level`` t interval, two-sided paired p,
    Holm-adjusted p over all comparisons, converged (None without the column), and status: ``withheld``
    (``reason``: the same runs under both names (where ``table`` has a ``run`` column), a run behind it not
    converged, method and reference both in ``budgets`` (row -> number of
    tuning settings) with different budgets, n < ``min_n``, or no spread), else ``established`` when
    p_holm < ``alpha``, else ``not established``.
    Raises ``ValueError`` for a missing column, an unknown method or a repeated (method, seed)."""
    comparisons = list(comparisons)
    _check(table, [n for c in comparisons for n in c[:2]], list(dict.fromkeys(c[2] for c in comparisons)))
    rows = [_one(table, m, ref, k, min_n, level, budgets or {}) for m, ref, k in comparisons]
    out = pd.DataFrame(rows, columns=[c for c in COLUMNS if c not in ("p_holm", "status")])
    out["p_holm"] = holm(out["p"].to_numpy()) if len(out) else []
    out["status"] = [WITHHELD if r else (ESTABLISHED if p < alpha else NOT_ESTABLISHED)
                     for r, p in zip(out["reason"], out["p_holm"])]
    return out[list(COLUMNS)]


def paired_tests(table: pd.DataFrame, methods: Sequence[str], references: Mapping[str, Sequence[str]],
                 alpha: float = 0.05, min_n: int = 5, level: float = 0.95,
                 budgets: Mapping[str, int] | None = None) -> pd.DataFrame:
    """Every method against every reference on that reference's metrics (``compare``'s rows, one family).

    ``references``: reference method -> the metrics it is compared on (the single-task detection
    reference on detection metrics only, say); a method is not compared with itself."""
    return compare(table, [(m, ref, k) for ref, ks in references.items() for m in methods if m != ref
                           for k in ks], alpha, min_n, level, budgets)

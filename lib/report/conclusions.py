"""Conclusions written from the measured comparison, never in advance.

Every sentence is a template filled from ``analysis.comparison`` numbers and
paired differences; a difference is called established only when its paired
t test survives Holm's adjustment over the comparisons made, with enough seeds
(``paired.compare``).
"""
from __future__ import annotations

import math

import pandas as pd

from ..experiments.methods import SINGLE_TASK
from .claims import upstream_claims
from .stats import bounds_of, format_ci, format_number, relative_change

METRIC_LABELS = {"mAP50": "mAP@0.5", "mAP50_95": "mAP@0.5:0.95", "view_accuracy": "view accuracy",
                 "view_macro_f1": "view macro-F1", "delta_m %": "Delta-m%"}


def winners(numbers: pd.DataFrame) -> pd.DataFrame:
    """Per metric: the best method, the runner-up, and whether their intervals separate."""
    cand = numbers.drop(index=list(SINGLE_TASK), errors="ignore")
    rows = []
    for metric, label in METRIC_LABELS.items():
        col = cand[metric].dropna().sort_values(ascending=False)
        if len(col) < 2:
            continue
        a, b = col.index[0], col.index[1]
        sep = cand.loc[a, f"{metric} low"] > cand.loc[b, f"{metric} high"]
        bounds = bounds_of(metric)
        rows.append({"metric": label, "best": a, "value": format_ci(cand.loc[a, metric], cand.loc[a, f"{metric} low"],
                                                                    cand.loc[a, f"{metric} high"], bounds=bounds),
                     "runner-up": b, "runner-up value": format_ci(cand.loc[b, metric], cand.loc[b, f"{metric} low"],
                                                                  cand.loc[b, f"{metric} high"], bounds=bounds),
                     "best clearly ahead": bool(sep) if not math.isnan(cand.loc[a, f"{metric} low"]) else "one seed"})
    return pd.DataFrame(rows).set_index("metric")


def upstream_claims_checked(numbers: pd.DataFrame) -> pd.DataFrame:
    """The upstream report's expected gains (預估) against the measured relative change vs the original architecture."""
    c = upstream_claims()["comparison"]
    base = numbers.loc["original"]
    rows = []
    for i, m in enumerate(("gradnorm", "dual")):
        if m not in numbers.index:
            continue
        r = numbers.loc[m]
        rows.append({"method": m, "seed: detection": c["detection"][i],
                     "measured: mAP@0.5 vs original": relative_change(r["mAP50"], base["mAP50"]),
                     "seed: classification": c["classification"][i],
                     "measured: view accuracy vs original": relative_change(r["view_accuracy"], base["view_accuracy"]),
                     "seed: interference": c["gradient_interference"][i],
                     "measured: mean gradient cosine": "no shared parameter" if math.isnan(r["mean grad cosine"])
                     else f"{r['mean grad cosine']:+.3f} (original {base['mean grad cosine']:+.3f})"})
    return pd.DataFrame(rows).set_index("method")


def recommendation(numbers: pd.DataFrame) -> str:
    cand = numbers.drop(index=list(SINGLE_TASK), errors="ignore")
    if cand["delta_m %"].isna().all():
        return ("No recommendation: Delta-m% is undefined (a metric it needs is undefined, e.g. no ground-truth "
                "objects in the split, or a single-task reference scored 0).")
    best = cand["delta_m %"].idxmax()
    # the cheapest method whose Delta-m interval overlaps the best one's
    lo_best = cand.loc[best, "delta_m % low"]
    if math.isnan(lo_best):
        close = [best]
    else:
        close = [m for m in cand.index if cand.loc[m, "delta_m % high"] >= lo_best]
    cheapest = min(close, key=lambda m: (cand.loc[m, "time per epoch (s)"], cand.loc[m, "parameters"]))
    lines = [f"1. **Method with the best balance of the two tasks:** `{best}` "
             f"(Delta-m {format_ci(cand.loc[best, 'delta_m %'], lo_best, cand.loc[best, 'delta_m % high'], 1)}%)."]
    n_seeds = int(cand.loc[best, "seeds"]) if "seeds" in cand.columns else None
    if cheapest != best:
        c = cand.loc[cheapest]
        lines.append(f"2. **Cheaper method not separated from it by the 95% intervals:** `{cheapest}` "
                     f"(Delta-m {format_ci(c['delta_m %'], c['delta_m % low'], c['delta_m % high'], 1)}%; "
                     f"{c['time per epoch (s)']:.1f} s/epoch against {cand.loc[best, 'time per epoch (s)']:.1f}). "
                     f"Overlapping intervals do not make two methods equal: with "
                     f"{n_seeds if n_seeds else 'few'} seeds they only fail to tell them apart.")
    elif math.isnan(lo_best):
        lines.append("2. One seed: no intervals, so no cheaper method can be judged close to it.")
    else:
        lines.append("2. Every cheaper method is separated from it by the 95% intervals.")
    if "original" in cand.index:
        o = cand.loc["original"]
        refs = numbers.reindex(list(SINGLE_TASK))
        det_ref, view_ref = refs.loc["det_only", "mAP50"], refs.loc["view_only", "view_accuracy"]
        lines.append(f"3. **Upstream's fixed weights ({' / '.join(f'{w:g}' for w in _original_weights())})**: mAP@0.5 {format_number(o['mAP50'])} "
                     f"({format_number(o['mAP50'] - det_ref, '+.3f')} against detection alone) and view accuracy "
                     f"{format_number(o['view_accuracy'])} ({format_number(o['view_accuracy'] - view_ref, '+.3f')} "
                     f"against classification alone); the best-balanced method `{best}` reaches "
                     f"{format_number(cand.loc[best, 'mAP50'])} and {format_number(cand.loc[best, 'view_accuracy'])}.")
    return "\n".join(lines)


def _original_weights() -> list[float]:
    from ..experiments.methods import METHODS

    return METHODS["original"]["weighting_options"]["weights"]


def applicability(numbers: pd.DataFrame, front: pd.Series) -> str:
    """Section 4's applicability list (Markdown), from the comparison numbers (rows: methods; columns
    delta_m %, mAP50, view_accuracy, time per epoch (s), parameters) and the Pareto front (bool per method)."""
    cand = numbers.drop(index=list(SINGLE_TASK), errors="ignore")
    if cand["delta_m %"].isna().all():
        return ("Delta-m% is undefined here (a metric it needs is undefined, or a single-task reference "
                "scored 0), so no balance ranking is given.")
    best_dm = cand["delta_m %"].idxmax()
    cheap = cand.sort_values("time per epoch (s)")
    fastest_front = next((m for m in cheap.index if front.get(m, False)), cheap.index[0])
    fewest = cand["parameters"].min()
    smallest = [m for m in cand.index if cand.loc[m, "parameters"] == fewest]
    det, view = cand["mAP50"].dropna(), cand["view_accuracy"].dropna()
    best_text = f"{cand.loc[best_dm, 'delta_m %']:+.1f}%"
    lo = cand.loc[best_dm, "delta_m % low"] if "delta_m % low" in cand.columns else float("nan")
    if not math.isnan(lo):
        best_text = (f"{format_ci(cand.loc[best_dm, 'delta_m %'], lo, cand.loc[best_dm, 'delta_m % high'], 1)}%, "
                     f"mean and 95% interval")
        close = [m for m in cand.index if m != best_dm and cand.loc[m, "delta_m % high"] >= lo]
        best_text += (f"; not separated from {', '.join(f'`{m}`' for m in close)}, whose intervals reach it"
                      if close else "; separated from every other method")
    lines = [
        f"* **Best balance (highest mean Delta-m%)**: `{best_dm}` ({best_text}).",
        "* **Pareto-optimal methods** (no other method better on both mAP@0.5 and view accuracy): "
        + ", ".join(f"`{m}`" for m in cand.index if front.get(m, False)) + ".",
        f"* **Resource-limited** (cheapest per epoch on the Pareto front): `{fastest_front}` "
        f"({cand.loc[fastest_front, 'time per epoch (s)']:.1f} s/epoch, "
        f"{int(cand.loc[fastest_front, 'parameters']):,} parameters).",
        (f"* **Highest detection**: `{det.idxmax()}` (mAP@0.5 {det.max():.3f}); " if len(det) else
         "* **Highest detection**: n/a (mAP undefined); ")
        + (f"**highest view accuracy**: `{view.idxmax()}` ({view.max():.3f})." if len(view) else
           "**highest view accuracy**: n/a."),
        f"* **Smallest models**: {', '.join(f'`{m}`' for m in smallest)} ({int(fewest):,} parameters each)"
        + (f"; the dual backbone adds {int(cand.loc['dual', 'parameters'] - fewest):+,} "
           f"({100 * (cand.loc['dual', 'parameters'] - fewest) / fewest:+.1f}%)." if "dual" in cand.index else "."),
    ]
    return "\n".join(lines)


def methods_table(labels) -> pd.DataFrame:
    """What each method label trains: model, task, weighting and its options (from ``lib.experiments.methods``)."""
    from ..experiments.methods import method

    rows = {}
    for label in labels:
        m = method(label)
        options = m.get("weighting_options") or {}
        rows[label] = {"model": m["model"], "task": m.get("task", "both"), "weighting": m["weighting"],
                       "options": ", ".join(f"{k}={v}" for k, v in options.items()) or "defaults"}
    return pd.DataFrame(rows).T.rename_axis("method")

"""Conclusions written from the measured comparison, never in advance: the upstream report's expectations
beside the measurements, section 4's applicability list, and what each method label trains. Which method is
better than which is read from the verdicts only (``answer``, ``verdicts``)."""
from __future__ import annotations

import math

import pandas as pd

from .claims import upstream_claims
from .stats import relative_change



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


def applicability(front: list[str], dominated_by: dict[str, list[str]], cost: pd.DataFrame) -> str:
    """Section 4's applicability list (Markdown) from what the runs can tell apart: the Pareto set read from
    paired intervals (``pareto.pareto_from_intervals``: ``front``, ``dominated_by``) and each row's
    training cost with its tuning (``tuning.Tuned.cost``). No row is called best here: section 8's
    verdicts say what is established."""
    hours = cost["training process-hours"]
    on_front = sorted(front, key=lambda m: hours.get(m, math.inf))
    lines = ["* **Pareto set** (no other row better on both mAP@0.5 and view accuracy by a paired 95% interval): "
             + ", ".join(f"`{m}`" for m in front) + "."]
    if dominated_by:
        lines.append("* **Dominated**: " + "; ".join(f"`{m}` by {', '.join(f'`{b}`' for b in by)}"
                                                   for m, by in dominated_by.items()) + ".")
    else:
        lines.append("* **Dominated**: none; the runs cannot tell the rows apart on both tasks at once.")
    lines.append(f"* **Cheapest on the Pareto set** (training with tuning; a cost, not a recommendation, since the set "
                 f"holds every row the runs cannot tell apart): `{on_front[0]}` ({hours[on_front[0]]:.2f} "
                 f"process-hours over {int(cost.loc[on_front[0], 'runs'])} runs)."
                 if on_front and on_front[0] in hours.index else "* **Cheapest on the Pareto set**: no cost measured.")
    lines.append("* Which row is better than which, and whether it is established, is section 8's (verdicts).")
    return "\n".join(lines)


def methods_table(labels) -> pd.DataFrame:
    """What each method label trains: model, task, weighting, its options, and the training settings the label
    changes from the profile's (e.g. ``lr``; from ``lib.experiments.methods``)."""
    from ..experiments.methods import method

    rows = {}
    for label in labels:
        m = method(label)
        options = m.get("weighting_options") or {}
        changed = {k: v for k, v in m.items() if k not in ("model", "task", "weighting", "weighting_options")}
        rows[label] = {"model": m["model"], "task": m.get("task", "both"), "weighting": m["weighting"],
                       "options": ", ".join(f"{k}={v}" for k, v in options.items()) or "defaults",
                       "training settings": ", ".join(f"{k}={v:g}" for k, v in changed.items()) or "the profile's"}
    return pd.DataFrame(rows).T.rename_axis("method")

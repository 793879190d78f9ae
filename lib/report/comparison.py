"""Comparison helpers: the report's one selection rule (validation Delta-m%) and the upstream report's table."""
from __future__ import annotations

import inspect
import math

import numpy as np
import pandas as pd

from .. import weighting
from .analysis import DELTA_M_TASKS, reference_metrics
from .claims import upstream_claims
from .stats import NA, bounds_of, delta_m, format_ci, relative_change


def val_delta_m(runs: dict, method: str) -> float:
    """Mean over seeds of Delta-m% on the validation split (used only to select)."""
    refs = reference_metrics(runs, "val")
    vals = []
    for (m, s), r in runs.items():
        if m == method:
            row = {k: r.metrics[f"val_{k}"] for task in DELTA_M_TASKS.values() for k in task}
            vals.append(delta_m(row, refs.get(s, {}), DELTA_M_TASKS))
    vals = [v for v in vals if not math.isnan(v)]
    return float(np.mean(vals)) if vals else math.nan


def select_on_validation(runs: dict, candidates: list[str]) -> tuple[str, pd.DataFrame]:
    """The one selection rule of the report: the candidate with the best validation Delta-m%.

    ``runs`` holds the candidates' runs and the single-task references (det_only, view_only) keyed
    (method, seed). Returns the selected label and a table indexed by candidate: val mAP50, val view
    accuracy (means over seeds), val delta_m %, selected. With Delta-m% undefined everywhere (e.g. no
    objects in val) the first candidate is kept."""
    rows = []
    for m in candidates:
        rs = [r for (mm, _), r in runs.items() if mm == m]
        rows.append({"method": m, "val mAP50": np.mean([r.metrics["val_mAP50"] for r in rs]),
                     "val view accuracy": np.mean([r.metrics["val_view_accuracy"] for r in rs]),
                     "val delta_m %": val_delta_m(runs, m)})
    table = pd.DataFrame(rows).set_index("method")
    best = table["val delta_m %"].idxmax() if table["val delta_m %"].notna().any() else table.index[0]
    table["selected"] = table.index == best
    return best, table


def source_lines(obj) -> int:
    """Non-blank, non-comment source lines of a class or module (a measured 'implementation size')."""
    lines = inspect.getsource(obj).splitlines()
    return sum(1 for line in lines if line.strip() and not line.strip().startswith("#"))


def upstream_table(numbers: pd.DataFrame, columns=("gradnorm", "dual", "original")) -> pd.DataFrame:
    """The upstream report's 綜合性能對比 with each of its guesses beside the measured value."""
    from ..models import dual

    c = upstream_claims()["comparison"]
    labels = {"gradnorm": "GradNorm", "dual": "雙獨立Backbone (dual)", "original": "原始架構 (original)"}
    base = numbers.loc["original"] if "original" in numbers.index else None
    impl = {"gradnorm": source_lines(weighting.gradnorm), "dual": source_lines(dual),
            "original": source_lines(weighting.fixed)}
    out = {}
    for i, m in enumerate(columns):
        if m not in numbers.index:
            continue
        r = numbers.loc[m]

        def rel(metric):
            change = NA if base is None else relative_change(r[metric], base[metric])
            return change if change == NA else f"{change} vs original"

        def ci(k, d=3):
            return format_ci(r[k], r[f"{k} low"], r[f"{k} high"], d, bounds_of(k))
        out[(labels[m], "upstream report")] = {
            "implementation": c["implementation"][i], "training time": c["training_time"][i],
            "model size": c["model_size"][i], "gradient interference": c["gradient_interference"][i],
            "detection": c["detection"][i], "classification": c["classification"][i], "memory": c["memory"][i]}
        out[(labels[m], "measured")] = {
            "implementation": f"{impl[m]} lines",
            "training time": f"{ci('time per epoch (s)', 1)} s/epoch",
            "model size": f"{int(r['parameters']):,} parameters",
            "gradient interference": ("none possible (no shared parameter)" if math.isnan(r["mean grad cosine"])
                                      else f"mean cos {ci('mean grad cosine')}, conflicts {ci('conflict rate')}"),
            "detection": f"mAP@0.5 {ci('mAP50')} ({rel('mAP50')})",
            "classification": f"view acc. {ci('view_accuracy')} ({rel('view_accuracy')})",
            "memory": f"{r['peak memory (MiB)']:.0f} MiB peak ({r['training memory (MiB)']:.0f} MiB for training)",
        }
    return pd.DataFrame(out)

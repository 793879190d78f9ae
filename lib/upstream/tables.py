"""Tables that set the upstream report's GradNorm claims beside the replay of its own test (``lib.upstream.replica``)."""
from __future__ import annotations

import math

import pandas as pd

from .replica import ReplicaResult, weight_sequence
from ..report.claims import upstream_claims

RULE_LABELS = {
    "upstream": "replica: upstream rule",
    "upstream_weighted_rates": "replica: upstream rule, rates from weighted losses (hypothesis)",
    "gradnorm": "our GradNorm (Chen et al.)",
    "fixed": "fixed weights",
}


def _summary(res: ReplicaResult, n_updates: int, update_steps: list[int]) -> dict:
    seq = weight_sequence(res)
    h = res.history
    row = {}
    for k in range(1, n_updates + 1):
        if res.rule in ("upstream", "upstream_weighted_rates"):
            w = seq.iloc[k] if k < len(seq) else None
            row[f"update {k}: w_det"] = w["w_det"] if w is not None else math.nan
            row[f"update {k}: w_view"] = w["w_view"] if w is not None else math.nan
        else:  # continuous rules: the weights at the steps where the upstream rule updated
            r = h[h["step"] == update_steps[k - 1]] if k <= len(update_steps) else h.iloc[:0]
            row[f"update {k}: w_det"] = float(r["w_det_after"].iloc[0]) if len(r) else math.nan
            row[f"update {k}: w_view"] = float(r["w_view_after"].iloc[0]) if len(r) else math.nan
    row["final w_det"] = float(h["w_det_after"].iloc[-1])
    row["final w_view"] = float(h["w_view_after"].iloc[-1])
    row["weight sum"] = row["final w_det"] + row["final w_view"]
    row["average loss (weighted, all steps)"] = float(h["loss_weighted"].mean())
    row["training time (s)"] = res.seconds
    row["parameters"] = res.parameters
    return row


def upstream_vs_replica(results: dict[str, ReplicaResult]) -> pd.DataFrame:
    """Rows: what the upstream report printed; columns: its value, each rule's replay, and the upstream rule minus it."""
    c = upstream_claims()
    seq_det, seq_view = c["weight_sequence"]["det"], c["weight_sequence"]["view"]
    n = len(seq_det) - 1
    seed = {}
    for k in range(1, n + 1):
        seed[f"update {k}: w_det"] = seq_det[k]
        seed[f"update {k}: w_view"] = seq_view[k]
    core = c["gradnorm_core"]
    seed.update({"final w_det": core["w_det_final"], "final w_view": core["w_view_final"],
                 "weight sum": core["w_det_final"] + core["w_view_final"],
                 "average loss (weighted, all steps)": core["average_loss"],
                 "training time (s)": core["training_seconds"], "parameters": core["parameters"]})
    table = pd.DataFrame({"upstream report": pd.Series(seed)})
    upstream_rule = results.get("upstream")
    updates = [] if upstream_rule is None else [int(x) for x in upstream_rule.history.query("updated")["step"]]
    for rule, res in results.items():
        table[RULE_LABELS.get(rule, rule)] = pd.Series(_summary(res, n, updates))
    if "upstream" in results:
        table["difference (replica - upstream)"] = table[RULE_LABELS["upstream"]] - table["upstream report"]
    return table


def sequence_ratios(results: dict[str, ReplicaResult]) -> pd.DataFrame:
    """w_view / w_det after each update, and its growth factor per update, seed printout vs replays."""
    c = upstream_claims()["weight_sequence"]
    cols = {"upstream report": pd.Series([cl / d if d else math.inf for d, cl in zip(c["det"], c["view"])])}
    for rule in ("upstream", "upstream_weighted_rates"):
        if rule in results:
            seq = weight_sequence(results[rule])
            cols[RULE_LABELS[rule]] = (seq["w_view"] / seq["w_det"]).reset_index(drop=True)
    ratio = pd.DataFrame(cols)
    ratio.index.name = "update"
    growth = ratio / ratio.shift(1)
    return ratio.join(growth, rsuffix=" (growth x)")

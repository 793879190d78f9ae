"""The report's answer: verdicts built from the compared runs, and the sentences the index opens with.

``build(runs)`` tests every multi-task method against the reference (upstream's shared network with its
fixed weights, ``original``) on detection mAP@0.5 and view accuracy as one Holm-controlled family
(``paired.paired_tests``), and reads the interference question from the reference's gradient histories
over every seed (``interference.interference_summary``); each result is a ``verdicts.Verdict``, withheld
where its runs did not stop on a validation plateau or n < ``verdicts.MIN_N``. The answer is the
interference verdict and, per metric, the verdict of the method with the largest mean difference.
"""
from __future__ import annotations

from collections import Counter

import pandas as pd

from ..experiments.methods import SINGLE_TASK
from .analysis import per_seed
from .interference import interference_summary
from .paired import ESTABLISHED, WITHHELD, paired_tests
from .verdicts import MIN_N, Verdict, from_interference, from_paired

REFERENCE = "original"
METRICS = ("mAP50", "view_accuracy")
PAIRED_TEMPLATE = ("{method} against {reference} on test {metric}: {difference:+.3f} [{low:+.3f}, {high:+.3f}] "
                   "(paired over n = {n} seeds; Holm-adjusted p = {p_holm:.3g}).")
EVIDENCE = "08_conclusions/tables/verdict_tests.csv"


def no_recommendation(verdicts: list[Verdict]) -> str | None:
    """The sentence that replaces a recommendation when no verdict is established (counts of each reason a
    verdict was withheld, and of verdicts not established); None when one is established."""
    if any(v.status == ESTABLISHED for v in verdicts):
        return None
    reasons = Counter("withheld: " + ("runs not converged" if "converge" in v.reason else v.reason)
                      if v.status == WITHHELD else v.status for v in verdicts)
    told = "; ".join(f"{n} {why}" for why, n in reasons.most_common())
    return (f"**No recommendation.** None of the {len(verdicts)} verdicts is established ({told}), so the point "
            "estimates above are not findings: no method is shown better than `original`.")


def build(runs: dict, reference: str = REFERENCE, metrics=METRICS,
          min_n: int = MIN_N) -> tuple[list[Verdict], list[str], pd.DataFrame]:
    """(verdicts, the answer's claim ids, the paired tests) from ``runs`` keyed (method, seed).

    Raises ``ValueError`` when ``reference`` has no runs."""
    if not any(m == reference for m, _ in runs):
        raise ValueError(f"no runs of the reference {reference!r}: it must be among the compared methods")
    tidy = per_seed(runs)
    methods = [m for m in dict.fromkeys(tidy["method"]) if m not in SINGLE_TASK and m != reference]
    tests = paired_tests(tidy, methods, {reference: list(metrics)}, min_n=min_n)
    verdicts = [from_paired(row, f"{row['method']} vs {reference}: {row['metric']}", PAIRED_TEMPLATE, EVIDENCE,
                            min_n) for row in tests.to_dict("records")]
    ref = [r for (m, _), r in runs.items() if m == reference]
    converged = all(r.metrics.get("converged") is True for r in ref)
    verdicts.insert(0, from_interference(interference_summary([r.history for r in ref]), "interference",
                                         f"gradient histories of {reference}, every seed", converged, min_n))
    claims = ["interference"]
    for metric in metrics:
        rows = tests[tests["metric"] == metric].dropna(subset=["difference"])
        if len(rows):
            best = rows.loc[rows["difference"].idxmax()]
            claims.append(f"{best['method']} vs {reference}: {metric}")
    return verdicts, claims, tests

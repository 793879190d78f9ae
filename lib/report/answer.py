"""The report's answer: verdicts built from the compared runs, and the sentences the index opens with.

``build(runs, budgets)`` tests, as one Holm-controlled family of paired tests over seeds
(``paired.paired_tests``), every multi-task row against the tuned static weight (``static``: the reviewers'
prior, Xin et al. 2022, Kurin et al. 2022) on detection mAP@0.5 and view accuracy, and every multi-task row
against the single-task references (detection alone on mAP@0.5, classification alone on view accuracy). A
comparison between rows of different tuning budgets is withheld (``lib.report.tuning``). The interference
question is read from upstream's architecture as given (``original``), its gradient histories over every
seed (``interference.interference_summary``). Each result is a ``verdicts.Verdict``, withheld where its runs
did not stop on a validation plateau or n < ``verdicts.MIN_N``. The answer is the interference verdict; the
comparisons follow it as counts and as the established differences against the tuned static weight
(``answer_text.tally_sentence``, ``answer_text.prior_sentence``): no row is singled out for its mean.
"""
from __future__ import annotations

from collections import Counter

import pandas as pd

from ..experiments.methods import SINGLE_TASK
from .analysis import per_seed
from .interference import interference_summary
from .clips import paired_bootstrap
from .paired import ESTABLISHED, NOT_ESTABLISHED, WITHHELD, paired_tests
from .per_class import DETECTABLE_METRIC
from .verdicts import INTERFERENCE_OF, MIN_N, PRIOR, Verdict, from_interference, from_paired

REFERENCE = PRIOR  # the tuned static weight
METRICS = ("mAP50", "view_accuracy")
SINGLE_TASK_METRICS = {"det_only": ["mAP50"], "view_only": ["view_accuracy"]}
PAIRED_TEMPLATE = ("{method} against {reference} on test {metric}: {difference:+.3f} [{low:+.3f}, {high:+.3f}] "
                   "(95% t interval of this comparison alone, paired over n = {n} seeds; Holm-adjusted p = "
                   "{p_holm:.3g} over the {family} comparisons made, established below 0.05).")
CLIP_TEMPLATE = " Resampling clips and seeds: [{clip_low:+.3f}, {clip_high:+.3f}]."
EVIDENCE = "08_conclusions/tables/verdict_tests.csv"


def with_clip_intervals(tests: pd.DataFrame, replicates: dict) -> pd.DataFrame:
    """``tests`` with ``clip_low``/``clip_high``, the two-level bootstrap interval of each comparison; an
    established difference whose interval holds 0 becomes not established, saying why."""
    tests = tests.copy()
    bounds = []
    for row in tests.to_dict("records"):
        side = [{s: reps[row["metric"]] for (m, s), reps in replicates.items() if m == row[who]}
                for who in ("method", "reference")]
        bounds.append(paired_bootstrap(*side)[:2])
    tests["clip_low"], tests["clip_high"] = [b[0] for b in bounds], [b[1] for b in bounds]
    spans_zero = ~((tests["clip_low"] > 0) | (tests["clip_high"] < 0))
    weaker = (tests["status"] == ESTABLISHED) & spans_zero
    tests.loc[weaker, "status"] = NOT_ESTABLISHED
    tests.loc[weaker, "reason"] = "the interval resampling clips and seeds includes 0"
    return tests


def no_recommendation(verdicts: list[Verdict]) -> str | None:
    """The sentence that replaces a recommendation when no verdict is established (counts of each reason a
    verdict was withheld, and of verdicts not established); None when one is established."""
    verdicts = [v for v in verdicts if "method" in v.values]  # the comparisons between methods
    if any(v.status == ESTABLISHED for v in verdicts):
        return None
    reasons = Counter("withheld: " + ("runs not converged" if "converge" in v.reason else
                                      "unequal tuning budgets" if "budgets" in v.reason else v.reason)
                      if v.status == WITHHELD else v.status for v in verdicts)
    told = "; ".join(f"{n} {why}" for why, n in reasons.most_common())
    return (f"**No recommendation.** None of the {len(verdicts)} comparisons between methods is established "
            f"({told}), so the point estimates above are not findings: no method is shown better than the tuned "
            f"static weight (`{REFERENCE}`) or the single-task references.")


def build(runs: dict, budgets: dict[str, int] | None = None, detection: dict | None = None,
          clip_replicates: dict | None = None, reference: str = REFERENCE, metrics=METRICS,
          min_n: int = MIN_N) -> tuple[list[Verdict], list[str], pd.DataFrame]:
    """(verdicts, the answer's claim ids, the paired tests) from ``runs`` keyed (row, seed); ``budgets``: row
    -> number of tuning settings (``tuning.Tuned.budgets``; ``original``, upstream's point, is exempt);
    ``detection``: (row, seed) -> mAP50 over the detectable classes (``per_class.with_detectable_map``),
    which then replaces mAP50 in every comparison; ``clip_replicates``: (row, seed) -> metric -> the run's
    values on the report's clip resamples (``clips.replicates``), which add the two-level bootstrap interval
    (``clips.paired_bootstrap``) to every comparison: a difference is established only when that interval
    excludes 0 as well.

    Raises ``ValueError`` when ``reference`` or ``INTERFERENCE_OF`` has no runs."""
    for needed in (reference, INTERFERENCE_OF):
        if not any(m == needed for m, _ in runs):
            raise ValueError(f"no runs of {needed!r}: it must be among the compared rows")
    tidy = per_seed(runs)
    task_metrics = dict(SINGLE_TASK_METRICS)
    if detection is not None:
        tidy[DETECTABLE_METRIC] = [detection[(m, s)] for m, s in zip(tidy["method"], tidy["seed"])]
        metrics = [DETECTABLE_METRIC if k == "mAP50" else k for k in metrics]
        task_metrics["det_only"] = [DETECTABLE_METRIC]
    rows = [m for m in dict.fromkeys(tidy["method"]) if m not in SINGLE_TASK]
    order = [m for m in rows if m != reference] + [m for m in rows if m == reference]  # the tuned name yields
    rows = [m for m in rows if not _same_runs_as_earlier(tidy, m, order)]  # one row per configuration
    references = {reference: list(metrics)}
    references.update({ref: ks for ref, ks in task_metrics.items() if ref in set(tidy["method"])})
    budgets = {m: k for m, k in (budgets or {}).items() if m != INTERFERENCE_OF and m not in SINGLE_TASK}
    tests = paired_tests(tidy, rows, references, min_n=min_n, budgets=budgets)
    tests["family"] = int(tests["p"].notna().sum())  # the comparisons Holm's adjustment counts
    template = PAIRED_TEMPLATE
    if clip_replicates is not None:
        tests = with_clip_intervals(tests, clip_replicates)
        template = PAIRED_TEMPLATE + CLIP_TEMPLATE
    verdicts = [from_paired(row, f"{row['method']} vs {row['reference']}: {row['metric']}", template,
                            EVIDENCE, min_n) for row in tests.to_dict("records")]
    ref = [r for (m, _), r in runs.items() if m == INTERFERENCE_OF]
    converged = all(r.metrics.get("converged") is True for r in ref)
    verdicts.insert(0, from_interference(interference_summary([r.history for r in ref]), "interference",
                                         f"gradient histories of {INTERFERENCE_OF}, every seed", converged, min_n))
    return verdicts, ["interference"], tests


def _same_runs_as_earlier(tidy: pd.DataFrame, method: str, rows: list[str]) -> bool:
    """Whether ``method``'s runs are, seed for seed, those of a row before it (a tuned row that selected the
    other's setting: the full profile's static weight selecting original's): it would repeat that row's
    comparisons in the family. It stays a reference."""
    if "run" not in tidy.columns:
        return False
    runs = lambda m: tuple(tidy.loc[tidy["method"] == m].sort_values("seed")["run"])  # noqa: E731
    mine = runs(method)
    return None not in mine and any(runs(r) == mine for r in rows[:rows.index(method)])


def recommendation(verdicts: list[Verdict], cost: pd.DataFrame | None = None) -> str:
    """Section 8's recommendations (Markdown): ``no_recommendation`` when nothing is established, else one
    line per established paired verdict, with the training cost of its row, tuning included
    (``tuning.Tuned.cost``), beside the reference's."""
    none = no_recommendation(verdicts)
    if none:
        return none
    hours = {} if cost is None else cost["training process-hours"].to_dict()

    def at(m):
        return f"{hours[m]:.2f} process-hours" if m in hours else "cost not measured"
    lines = [f"- {v.sentence} Cost: `{v.values['method']}` {at(v.values['method'])}, `{v.values['reference']}` "
             f"{at(v.values['reference'])}." for v in verdicts if v.status == ESTABLISHED and "method" in v.values]
    rest = sum(v.status != ESTABLISHED for v in verdicts)
    return "\n".join(lines + [f"- No other difference is established ({rest} verdicts: `verdicts.json`)."])

"""The answer as the index and the README open with it, read from a ``verdicts.json``: the claims' sentences
(``verdicts.answer``), then whether sharing costs a task, how the comparisons came out, whether anything beats
the tuned static weight, and what each row cost.
"""
from __future__ import annotations

import json
from pathlib import Path
from typing import Iterable

import numpy as np

from .paired import ESTABLISHED, NOT_ESTABLISHED, WITHHELD
from .verdicts import INTERFERENCE_OF, PRIOR, STATUSES, Verdict, answer, read_verdicts


def read_answer(path: str | Path) -> list[str]:
    """The sentences that answer the question, from a ``verdicts.json`` (``write_verdicts``), and what each
    row cost when the file holds it."""
    saved = json.loads(Path(path).read_text(encoding="utf-8"))
    verdicts = read_verdicts(path)
    sentences = answer(verdicts, saved.get("answer", []))
    after = [s for s in (task_cost_sentence(verdicts), tally_sentence(verdicts), prior_sentence(verdicts)) if s]
    sentences[min(1, len(sentences)):min(1, len(sentences))] = after
    cost = {k: v for k, v in (saved.get("cost_process_hours") or {}).items() if v is not None}
    if cost:
        sentences.append("Cost, training with tuning, measured on this machine (process-hours of the runs' "
                         "processes, two at a time on the machine's cores, so each moves with the load beside "
                         "it): " + ", ".join(f"{row} {hours:.2f}" if hours >= 0.005 else f"{row} <0.01"
                                             for row, hours in cost.items()) + ".")
    return sentences


TASK_NAMES = {"det_only": "detection alone", "view_only": "classification alone"}
REFERENCE_NAMES = {**TASK_NAMES, "static": "the tuned static weight"}


def task_cost_sentence(verdicts: Iterable[Verdict], row: str = INTERFERENCE_OF) -> str:
    """Whether sharing costs either task, in one sentence ("" without the comparisons): ``row`` against each
    single-task reference, with status, difference and interval. Interference in the gradients is a cost only
    where a task does worse shared than alone."""
    against = [v for v in verdicts if v.values.get("method") == row and v.values.get("reference") in TASK_NAMES]
    if not against:
        return ""
    said = [f"against {TASK_NAMES[v.values['reference']]} on test {v.values['metric']}: "
            f"{v.values['difference']:+.3f} [{v.interval[0]:+.3f}, {v.interval[1]:+.3f}], {v.status}"
            + (f" ({v.reason})" if v.status == WITHHELD else "") for v in against]
    return f"Does sharing cost either task? {row} {'; '.join(said)}."


def prior_sentence(verdicts: Iterable[Verdict], reference: str = PRIOR) -> str:
    """Whether any method beats the tuned static weight, in one sentence ("" without a comparison against it):
    the established differences above and below it by method and metric, then the counts not separated and
    withheld. Tuned scalarization matches most multi-task optimizers (Xin et al. 2022, "Do Current Multi-Task
    Optimization Methods in Deep Learning Even Help?"; Kurin et al. 2022, "In Defense of the Unitary
    Scalarization for Deep Multi-Task Learning"): the result a method must beat."""
    against = [v for v in verdicts if v.values.get("reference") == reference and "method" in v.values]
    if not against:
        return ""
    established = [v for v in against if v.status == ESTABLISHED]

    def listed(sign: int, side: str) -> str:
        found = [f"{v.values['method']} on {v.values['metric']}" for v in established
                 if np.sign(v.values["difference"]) == sign]
        return f"established {side} it: {', '.join(found)}" if found else f"none established {side} it"
    count = {st: sum(v.status == st for v in against) for st in (NOT_ESTABLISHED, WITHHELD)}
    return (f"Against the reviewers' prior, the static loss weight tuned on validation (tuned scalarization "
            f"matches most multi-task optimizers: Xin et al. 2022, Kurin et al. 2022), over {len(against)} "
            f"comparisons: {listed(1, 'above')}; {listed(-1, 'below')}; {count[NOT_ESTABLISHED]} not "
            f"separated and {count[WITHHELD]} withheld.")


def tally_sentence(verdicts: Iterable[Verdict]) -> str:
    """How the comparisons between methods came out, in one sentence ("" without any): counts by status and
    the most common reasons for withholding."""
    compared = [v for v in verdicts if "method" in v.values]
    if not compared:
        return ""
    count = {st: sum(v.status == st for v in compared) for st in STATUSES}
    reasons: dict[str, list[str]] = {}
    for v in compared:
        if v.status == WITHHELD:
            why, _, which = v.reason.partition(": ")
            reasons.setdefault(why, []).append(which)
    said = "; ".join(f"{why}: {len(w)}" + (f", from {', '.join(dict.fromkeys(x for x in w if x))}" if any(w) else "")
                     for why, w in sorted(reasons.items(), key=lambda x: -len(x[1])))
    kinds = [(sum(v.values.get("reference") == r for v in compared), f"against {REFERENCE_NAMES.get(r, r)}")
             for r in dict.fromkeys(v.values.get("reference") for v in compared)]
    split = ", ".join(f"{k} {what}" for k, what in kinds if k)
    return (f"Of {len(compared)} paired comparisons between methods ({split}), {count[ESTABLISHED]} established, "
            f"{count[NOT_ESTABLISHED]} not established and {count[WITHHELD]} withheld"
            + (f" ({said})" if said else "") + ".")

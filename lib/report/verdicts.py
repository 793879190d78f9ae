"""Verdicts: each claim the report makes, with its evidence, as one record, and the report's answer read from them.

A ``Verdict`` holds a sentence template and the numbers that fill it, where the numbers come from
(a table or figure of the report), the interval, n, whether every run behind it converged, and a
status: ``established``, ``not established`` or ``withheld`` with its reason. The rules that withhold
are applied once, here (``decide``): a run behind the claim did not converge, fewer than ``min_n``
seeds, or a profile that cannot support verdicts (smoke: seconds of training). All verdicts of a
report go to ``reports/<profile>/verdicts.json`` (strict JSON, NaN written as null), the one
machine-readable answer; ``answer`` renders the sentences that answer the question from them
(``answer_text.read_answer`` adds the tally, the prior and the cost).
"""
from __future__ import annotations

import json
import math
import re
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Iterable, Sequence

import pandas as pd

from ..store.atomic import write_text
from .interference import NONE_SHOWN
from .paired import ESTABLISHED, NOT_ESTABLISHED, WITHHELD
from .profiles import REPO_ROOT

MIN_N = 5
PRIOR = "static"  # the reviewers' prior: a static loss weight tuned on validation
INTERFERENCE_OF = "original"  # upstream's shared network with its fixed weights: interference is read from it
STATUSES = (ESTABLISHED, NOT_ESTABLISHED, WITHHELD)


@dataclass(frozen=True)
class Verdict:
    """One claim. ``template``: a ``str.format`` sentence over ``values`` (names and numbers, e.g.
    ``"{method} changes {metric} by {difference:+.3f} [{low:+.3f}, {high:+.3f}] against {reference}"``);
    ``evidence``: the table or figure it is read from; ``interval``: (low, high) of the estimate;
    ``converged``: None when the runs do not say; ``reason``: why it is withheld, else empty."""
    claim: str
    template: str
    values: dict
    evidence: str
    interval: tuple[float, float]
    n: int
    converged: bool | None
    status: str
    reason: str = ""
    sentence: str = field(init=False)

    def __post_init__(self):
        if self.status not in STATUSES:
            raise ValueError(f"verdict {self.claim!r}: status {self.status!r} is not one of {STATUSES}")
        if self.status == WITHHELD and not self.reason:
            raise ValueError(f"verdict {self.claim!r}: withheld without a reason")
        try:
            text = _undefined(self.template.format(**self.values))
        except (KeyError, ValueError, IndexError) as e:
            raise ValueError(f"verdict {self.claim!r}: template does not fill from values {self.values}: "
                             f"{e!r}") from None
        object.__setattr__(self, "sentence", text)

    def render(self) -> str:
        """The sentence after its status, so no estimate reads as a finding unless it is one: ``"Established: "``,
        ``"Not established: "`` (with its reason where it has one), ``"Withheld (<reason>): "``."""
        if self.status == WITHHELD:
            return f"Withheld ({self.reason}): {self.sentence}"
        if self.status == NOT_ESTABLISHED:
            return f"Not established{f' ({self.reason})' if self.reason else ''}: {self.sentence}"
        return f"Established: {self.sentence}"


def decide(status: str, n: int, converged: bool | None, min_n: int = MIN_N, supported: bool = True,
           reason: str = "") -> tuple[str, str]:
    """(status, reason) after the withholding rules, in order: the profile cannot support verdicts,
    a run not converged, n < ``min_n``; otherwise ``status`` and ``reason`` as given."""
    if not supported:
        return WITHHELD, "this profile cannot support verdicts"
    if converged is False:
        return WITHHELD, reason if reason.startswith("run not converged") else "a run behind it did not converge"
    if n < min_n:
        return WITHHELD, f"n = {n} seeds < {min_n}"
    return status, reason


def from_paired(row, claim: str, template: str, evidence: str, min_n: int = MIN_N,
                supported: bool = True) -> Verdict:
    """A verdict from one ``paired.paired_tests`` row (a mapping or Series); ``template`` may use the
    row's fields (method, reference, metric, n, difference, low, high, p, p_holm, family: the number of
    comparisons Holm's adjustment ran over, and clip_low, clip_high where ``answer.with_clip_intervals`` added
    them)."""
    row = dict(row)
    converged = None if row.get("converged") is None or _nan(row["converged"]) else bool(row["converged"])
    status, reason = decide(row["status"], int(row["n"]), converged, min_n, supported, row.get("reason") or "")
    values = {k: row[k] for k in ("method", "reference", "metric", "n", "difference", "low", "high", "p", "p_holm",
                                  "family", "clip_low", "clip_high") if k in row}
    return Verdict(claim, template, values, evidence, (row["low"], row["high"]), int(row["n"]), converged,
                   status, reason)


INTERFERENCE_TEMPLATE = ("Upstream's shared network over {n} seeds: {evidence}. The mean shared-gradient cosine is "
                         "{cos:+.3f} [{cos_low:+.3f}, {cos_high:+.3f}] ({cos_reading}), while {conflict_pct:.0f}% "
                         "[{conflict_low_pct:.0f}, {conflict_high_pct:.0f}] of measured steps conflict (cosine below "
                         "zero); unweighted, the "
                         "{larger} loss's gradient is about {factor:.1f} times the other's (log detection/view "
                         "gradient-norm ratio {ratio:+.2f} [{ratio_low:+.2f}, {ratio_high:+.2f}]), and with the run's "
                         "loss weights the {weighted_larger} gradient reaches the shared weights about "
                         "{weighted_factor:.1f} times the other (log ratio {weighted:+.2f} [{weighted_low:+.2f}, "
                         "{weighted_high:+.2f}]). {layers_reading}")


def _cos_reading(low: float, high: float) -> str:
    if high < 0:
        return "below zero: the tasks pull the shared weights in opposite directions"
    if low > 0:
        return "above zero: the tasks' gradients agree on average"
    return "not separated from zero"


def _layers_reading(summary: dict) -> str:
    """The per-layer cosines in one sentence (``interference.layer_summary`` read into the summary)."""
    total = summary.get("layers", 0)
    if not total:
        return "Per-layer cosines were not logged by these runs."
    conflicting, agreeing = summary["layers conflicting"], summary["layers agreeing"]
    named = lambda names: f" ({', '.join(names)})" if names else ""  # noqa: E731
    return (f"Per shared layer (each its own 95% t interval over seeds, not adjusted for the {total} layers), the "
            f"cosine's interval lies below zero in {len(conflicting)} of {total} layers"
            f"{named(conflicting)} and above zero in {len(agreeing)}{named(agreeing)}.")


def _larger(log_ratio: float) -> str:
    return "larger" if math.isnan(log_ratio) else "view" if log_ratio < 0 else "detection"


def from_interference(summary: dict, claim: str, evidence: str, converged: bool | None = None,
                      min_n: int = MIN_N, supported: bool = True, template: str = INTERFERENCE_TEMPLATE) -> Verdict:
    """A verdict from ``interference.interference_summary``: established when it shows interference of
    either kind; the interval is the cosine's."""
    values = {"n": summary["n"], "evidence": summary["evidence"], "cos": summary["cos"],
              "cos_low": summary["cos low"], "cos_high": summary["cos high"], "ratio": summary["log norm ratio"],
              "ratio_low": summary["log norm ratio low"], "ratio_high": summary["log norm ratio high"],
              "larger": _larger(summary["log norm ratio"]), "factor": math.exp(abs(summary["log norm ratio"])),
              "cos_reading": _cos_reading(summary["cos low"], summary["cos high"]),
              "conflict_pct": 100 * summary.get("conflict rate", math.nan),
              "conflict_low_pct": 100 * summary.get("conflict rate low", math.nan),
              "conflict_high_pct": 100 * summary.get("conflict rate high", math.nan),
              "weighted": summary.get("weighted log norm ratio", math.nan),
              "weighted_low": summary.get("weighted log norm ratio low", math.nan),
              "weighted_high": summary.get("weighted log norm ratio high", math.nan)}
    values.update(weighted_larger=_larger(values["weighted"]), weighted_factor=math.exp(abs(values["weighted"])),
                  layers_reading=_layers_reading(summary))
    shown = ESTABLISHED if summary["evidence"] != NONE_SHOWN else NOT_ESTABLISHED
    status, reason = decide(shown, summary["n"], converged, min_n, supported)
    return Verdict(claim, template, values, evidence, (summary["cos low"], summary["cos high"]), summary["n"],
                   converged, status, reason)


def answer(verdicts: Iterable[Verdict], claims: Sequence[str]) -> list[str]:
    """The sentences answering the question, one per claim id in ``claims`` order, each from its verdict
    (``Verdict.render``). Raises ``KeyError`` naming the claims without a verdict."""
    by_claim = {v.claim: v for v in verdicts}
    missing = [c for c in claims if c not in by_claim]
    if missing:
        raise KeyError(f"no verdict for claims {missing}; verdicts: {sorted(by_claim)}")
    return [by_claim[c].render() for c in claims]


def _undefined(text: str) -> str:
    """An interval that does not exist (one seed) and a number that is undefined, said in words."""
    text = re.sub(r"\[[+-]?nan, [+-]?nan\]", "[no interval]", text)
    return re.sub(r"(?<![\w.])[+-]?nan(?![\w])", "n/a", text)


def _nan(x) -> bool:
    return isinstance(x, float) and math.isnan(x)


def _strict(x):
    """NaN -> None, numpy scalars -> Python, tuples -> lists: what ``json.dumps(allow_nan=False)`` accepts."""
    if isinstance(x, dict):
        return {str(k): _strict(v) for k, v in x.items()}
    if isinstance(x, (list, tuple)):
        return [_strict(v) for v in x]
    if hasattr(x, "item") and not isinstance(x, (str, bytes)):
        x = x.item()
    return None if _nan(x) else x


def to_dict(v: Verdict) -> dict:
    return _strict(asdict(v))


def verdicts_path(profile: str) -> Path:
    return REPO_ROOT / "reports" / profile / "verdicts.json"


def write_verdicts(verdicts: Iterable[Verdict], path: str | Path, answer_claims: Sequence[str] = (),
                   cost: dict[str, float] | None = None) -> Path:
    """Write the verdicts to ``path`` (``verdicts_path(profile)`` for a report) atomically, as strict JSON;
    ``answer_claims``: the claim ids whose sentences answer the question, in order (``answer``); ``cost``:
    row -> training process-hours with its tuning (``tuning.Tuned.cost``), the answer's last sentence."""
    verdicts = list(verdicts)
    answer(verdicts, answer_claims)  # KeyError now, not when the index is written
    text = json.dumps({"answer": list(answer_claims), "verdicts": [to_dict(v) for v in verdicts],
                       "cost_process_hours": _strict(dict(cost or {}))}, indent=2, ensure_ascii=False,
                      allow_nan=False)
    write_text(path, text + "\n")
    return Path(path)


def read_verdicts(path: str | Path) -> list[Verdict]:
    """The verdicts written by ``write_verdicts``; null numbers read back as NaN."""
    def num(x):
        return math.nan if x is None else x
    out = []
    for d in json.loads(Path(path).read_text(encoding="utf-8"))["verdicts"]:
        d.pop("sentence")
        d["interval"] = tuple(num(x) for x in d["interval"])
        d["values"] = {k: num(x) for k, x in d["values"].items()}
        out.append(Verdict(**d))
    return out


def table(verdicts: Iterable[Verdict]) -> pd.DataFrame:
    """One row per verdict: claim, status, reason, n, converged and the sentence (``Verdict.render``)."""
    return pd.DataFrame([{"claim": v.claim, "status": v.status, "reason": v.reason, "n": v.n,
                          "converged": v.converged, "sentence": v.render()} for v in verdicts]).set_index("claim")

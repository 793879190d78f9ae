"""The report's answer (lib.report.answer): verdicts from runs, withheld unless converged with n >= 5."""
from types import SimpleNamespace

import numpy as np
import pandas as pd
import pytest

from lib.report import answer
from lib.report.paired import ESTABLISHED, NOT_ESTABLISHED, WITHHELD


def fake_run(map50: float, view: float, converged, cos: float, seed: int):
    rng = np.random.default_rng(seed)
    history = pd.DataFrame({"grad_cos": cos + 0.01 * rng.standard_normal(20),
                            "grad_norm_det": np.full(20, 1.0), "grad_norm_view": np.full(20, 4.0)})
    metrics = {"test_mAP50": map50, "test_mAP50_95": map50 / 2, "test_precision": 0.5, "test_recall": 0.5,
               "test_f1": 0.5, "test_view_accuracy": view, "test_view_macro_f1": view, "parameters": 1,
               "train_seconds": 10.0, "peak_memory_mb": 1.0, "converged": converged}
    return SimpleNamespace(metrics=metrics, history=history, config=SimpleNamespace(epochs=1))


def runs_of(n: int, converged=True) -> dict:
    """original; 'better' clearly higher mAP50, same view accuracy; 'noise' the same up to seed noise."""
    out = {}
    for s in range(n):
        e = 0.01 * (s % 3 - 1)
        out[("original", s)] = fake_run(0.50 + e, 0.80 - e, converged, 0.0 + 0.002 * e, s)
        out[("better", s)] = fake_run(0.60 + e, 0.80 - e, converged, 0.0, s + 10)
        out[("noise", s)] = fake_run(0.50 - e, 0.80 + e, converged, 0.0, s + 20)
    return out


def by_claim(verdicts):
    return {v.claim: v for v in verdicts}


def test_a_clear_difference_over_five_converged_seeds_is_established_and_leads_the_answer():
    verdicts, claims, tests = answer.build(runs_of(5))
    v = by_claim(verdicts)
    assert v["better vs original: mAP50"].status == ESTABLISHED
    assert v["noise vs original: mAP50"].status == NOT_ESTABLISHED
    assert claims[0] == "interference" and claims[1] == "better vs original: mAP50"
    assert set(tests["method"]) == {"better", "noise"} and set(tests["metric"]) == set(answer.METRICS)
    # interference: cosine ~ 0, gradient norms 1 vs 4 in every run: a loss-scale imbalance
    assert v["interference"].status == ESTABLISHED and "imbalance" in v["interference"].values["evidence"]


@pytest.mark.parametrize("n, converged, reason", [(3, True, "n = 3"), (5, False, "converge"), (5, None, "converge")])
def test_few_seeds_or_runs_not_stopped_on_a_plateau_withhold_every_verdict(n, converged, reason):
    verdicts, _, _ = answer.build(runs_of(n, converged))
    assert {v.status for v in verdicts} == {WITHHELD}
    assert all(reason in v.reason for v in verdicts)


def test_without_the_reference_there_is_no_answer():
    runs = {k: r for k, r in runs_of(5).items() if k[0] != "original"}
    with pytest.raises(ValueError, match="original"):
        answer.build(runs)


def test_no_recommendation_unless_a_verdict_is_established():
    withheld, _, _ = answer.build(runs_of(3))
    text = answer.no_recommendation(withheld)
    assert text.startswith("**No recommendation.**") and f"None of the {len(withheld)} verdicts" in text
    assert "withheld: n = 3 seeds < 5" in text
    established, _, _ = answer.build(runs_of(5))
    assert answer.no_recommendation(established) is None

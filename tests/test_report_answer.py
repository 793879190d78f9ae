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
    """static (the tuned reference) and original alike; 'better' clearly higher mAP50, same view accuracy;
    'noise' the same up to seed noise."""
    out = {}
    for s in range(n):
        e = 0.01 * (s % 3 - 1)
        out[("static", s)] = fake_run(0.50 + e, 0.80 - e, converged, 0.0 + 0.002 * e, s + 30)
        out[("original", s)] = fake_run(0.50 + e, 0.80 - e, converged, 0.0 + 0.002 * e, s)
        out[("better", s)] = fake_run(0.60 + e, 0.80 - e, converged, 0.0, s + 10)
        out[("noise", s)] = fake_run(0.50 - e, 0.80 + e, converged, 0.0, s + 20)
    return out


def by_claim(verdicts):
    return {v.claim: v for v in verdicts}


def test_a_clear_difference_over_five_converged_seeds_is_established_and_leads_the_answer():
    verdicts, claims, tests = answer.build(runs_of(5))
    v = by_claim(verdicts)
    assert v["better vs static: mAP50"].status == ESTABLISHED
    assert v["noise vs static: mAP50"].status == NOT_ESTABLISHED
    assert claims == ["interference"]  # the comparisons are told by count and by what is established, no mean picked
    against = tests[tests["reference"] == "static"]
    assert set(against["method"]) == {"original", "better", "noise"} and set(against["metric"]) == set(answer.METRICS)
    # interference: cosine ~ 0, gradient norms 1 vs 4 in every run: a loss-scale imbalance
    assert v["interference"].status == ESTABLISHED and "imbalance" in v["interference"].values["evidence"]


@pytest.mark.parametrize("n, converged, reason", [(3, True, "n = 3"), (5, False, "converge"), (5, None, "converge")])
def test_few_seeds_or_runs_not_stopped_on_a_plateau_withhold_every_verdict(n, converged, reason):
    verdicts, _, _ = answer.build(runs_of(n, converged))
    assert {v.status for v in verdicts} == {WITHHELD}
    assert all(reason in v.reason for v in verdicts)


@pytest.mark.parametrize("missing", ["static", "original"])
def test_without_the_tuned_reference_or_upstreams_network_there_is_no_answer(missing):
    runs = {k: r for k, r in runs_of(5).items() if k[0] != missing}
    with pytest.raises(ValueError, match=missing):
        answer.build(runs)


def test_the_single_task_references_are_compared_on_their_own_task_only():
    runs = runs_of(5)
    for s in range(5):
        runs[("det_only", s)] = fake_run(0.70 + 0.01 * (s % 2), float("nan"), True, 0.0, s + 40)
        runs[("view_only", s)] = fake_run(float("nan"), 0.80 + 0.01 * (s % 2), True, 0.0, s + 50)
    _, _, tests = answer.build(runs)
    assert set(tests.loc[tests["reference"] == "det_only", "metric"]) == {"mAP50"}
    assert set(tests.loc[tests["reference"] == "view_only", "metric"]) == {"view_accuracy"}
    assert "det_only" not in set(tests["method"]) and "view_only" not in set(tests["method"])
    worse = tests.set_index(["method", "reference", "metric"]).loc[("static", "det_only", "mAP50")]
    assert worse["difference"] < 0 and worse["status"] == ESTABLISHED  # sharing costs detection here


def test_unequal_tuning_budgets_withhold_the_comparison_but_upstreams_point_is_exempt():
    verdicts, _, tests = answer.build(runs_of(5), budgets={"static": 5, "better": 1, "noise": 5, "original": 1})
    v = by_claim(verdicts)
    assert v["better vs static: mAP50"].status == WITHHELD
    assert v["better vs static: mAP50"].reason == "unequal tuning budgets: better 1 setting(s), static 5"
    assert v["noise vs static: mAP50"].status == NOT_ESTABLISHED  # same budget: tested
    assert "budgets" not in v["original vs static: mAP50"].reason  # upstream's weights: a point of static's grid
    assert "withheld: unequal tuning budgets" in answer.recommendation(
        [x for x in verdicts if x.status != ESTABLISHED])


def test_the_recommendation_lists_established_verdicts_with_their_cost():
    verdicts, _, _ = answer.build(runs_of(5))
    cost = pd.DataFrame({"training process-hours": [1.5, 0.25]}, index=["better", "static"])
    text = answer.recommendation(verdicts, cost)
    assert "better against static on test mAP50: +0.100" in text
    assert "Cost: `better` 1.50 process-hours, `static` 0.25 process-hours." in text
    assert text.splitlines()[-1].startswith("- No other difference is established")


def test_no_recommendation_unless_a_verdict_is_established():
    withheld, _, _ = answer.build(runs_of(3))
    text = answer.no_recommendation(withheld)
    compared = [v for v in withheld if "method" in v.values]  # the interference verdict is not a comparison
    assert text.startswith("**No recommendation.**") and f"None of the {len(compared)} comparisons" in text
    assert "withheld: n = 3 seeds < 5" in text
    established, _, _ = answer.build(runs_of(5))
    assert answer.no_recommendation(established) is None


def test_an_undetectable_class_is_left_out_of_the_detection_metric_of_every_verdict():
    runs = runs_of(5)
    detection = {k: 0.9 if k[0] == "better" else 0.7 for k in runs}  # over the detectable classes only
    verdicts, claims, tests = answer.build(runs, detection=detection)
    assert set(tests["metric"]) == {"mAP50 (detectable)", "view_accuracy"}
    row = tests.set_index(["method", "reference", "metric"]).loc[("better", "static", "mAP50 (detectable)")]
    assert row["difference"] == pytest.approx(0.2)
    assert "better vs static: mAP50 (detectable)" in by_claim(verdicts)


@pytest.mark.parametrize("clip_noise, status", [(0.001, ESTABLISHED), (0.3, NOT_ESTABLISHED)])
def test_a_difference_is_established_only_when_resampling_clips_and_seeds_also_excludes_zero(clip_noise, status):
    runs = runs_of(5)
    rng = np.random.default_rng(0)
    reps = {}
    for (m, s), r in runs.items():  # each run's metrics on 200 clip resamples, centred on its test value
        reps[(m, s)] = {k: r.metrics[f"test_{k}"] + clip_noise * rng.standard_normal(200)
                        for k in ("mAP50", "view_accuracy")}
    verdicts, _, tests = answer.build(runs, clip_replicates=reps)
    row = tests.set_index(["method", "reference", "metric"]).loc[("better", "static", "mAP50")]
    assert row["clip_low"] < 0.1 < row["clip_high"]
    v = by_claim(verdicts)["better vs static: mAP50"]
    assert v.status == status and "Resampling clips and seeds: [" in v.sentence
    if status == NOT_ESTABLISHED:
        assert v.reason == "the interval resampling clips and seeds includes 0" and row["p_holm"] < 0.05


def test_a_tuned_row_that_is_another_rows_runs_is_not_compared_twice():
    """The full build: the static weight selected original's setting, so static's runs are original's. Its
    comparisons with the references would repeat original's in Holm's family; they are made once, and the
    comparison of the two names is withheld as the same runs."""
    runs = runs_of(5)
    for s in range(5):
        runs[("static", s)] = runs[("original", s)]
        runs[("det_only", s)] = fake_run(0.70 + 0.01 * (s % 2), float("nan"), True, 0.0, s + 40)
    for key, run in runs.items():
        run.path = SimpleNamespace(name=f"{'original' if key[0] == 'static' else key[0]}-s{key[1]}")
    _, _, tests = answer.build(runs)
    assert "static" not in set(tests["method"]) and "static" in set(tests["reference"])
    same = tests.set_index(["method", "reference", "metric"]).loc[("original", "static", "mAP50")]
    assert same["status"] == WITHHELD and same["reason"].startswith("the same runs")
    assert tests["family"].iloc[0] == tests["p"].notna().sum()

"""Verdict records, their withholding rules, the JSON file and the sentences; the interference evidence."""
import json
import math
import re

import numpy as np
import pandas as pd
import pytest

from lib.report import answer_text as T
from lib.report import verdicts as V
from lib.report.interference import (CONFLICT, IMBALANCE, NONE_SHOWN, interference_summary, layer_summary,
                                     run_interference)
from lib.report.paired import paired_tests
from lib.report.stats import mean_ci

TEMPLATE = ("{method} changes {metric} by {difference:+.3f} [{low:+.3f}, {high:+.3f}] against {reference} "
            "over {n} seeds (Holm-adjusted p = {p_holm:.3f}).")


def tidy(per_method: dict, seeds, converged=None) -> pd.DataFrame:
    rows = [{"method": m, "seed": s, **{k: v[i] for k, v in metrics.items()}}
            for m, metrics in per_method.items() for i, s in enumerate(seeds)]
    out = pd.DataFrame(rows)
    if converged is not None:
        out["converged"] = converged
    return out


def verdicts_of(table, supported=True) -> list:
    rows = paired_tests(table, ["gradnorm"], {"static": ["mAP50", "view_accuracy"]})
    return [V.from_paired(r, f"gradnorm_vs_static.{r['metric']}", TEMPLATE, "table paired_differences",
                          supported=supported) for _, r in rows.iterrows()]


BASE = np.array([0.50, 0.52, 0.48, 0.51, 0.49])


def clear_case() -> pd.DataFrame:
    """n = 5: gradnorm clearly ahead on mAP50, no different on view accuracy."""
    return tidy({"static": {"mAP50": BASE, "view_accuracy": BASE},
                 "gradnorm": {"mAP50": BASE + [0.04, 0.05, 0.06, 0.05, 0.05],
                              "view_accuracy": BASE + [0.03, -0.02, 0.01, -0.03, 0.01]}}, range(5))


def test_a_clear_case_with_five_seeds_establishes_one_claim_and_not_another():
    by = {v.claim: v for v in verdicts_of(clear_case())}
    det, view = by["gradnorm_vs_static.mAP50"], by["gradnorm_vs_static.view_accuracy"]
    assert det.status == "established" and view.status == "not established"
    assert det.n == 5 and det.converged is None and det.reason == ""
    assert det.interval == pytest.approx(mean_ci([0.04, 0.05, 0.06, 0.05, 0.05])[1:])
    assert det.render().startswith("Established: gradnorm changes mAP50 by +0.050 [")
    assert view.render() == f"Not established: {view.sentence}"  # an estimate that is not a finding says so


def test_the_prior_sentence_says_whether_a_method_beats_the_tuned_static_weight():
    vs = verdicts_of(clear_case())  # gradnorm: established above static on mAP50, not separated on view accuracy
    assert T.prior_sentence(vs) == (
        "Against the reviewers' prior, the static loss weight tuned on validation (tuned scalarization matches most "
        "multi-task optimizers: Xin et al. 2022, Kurin et al. 2022), over 2 comparisons: established above it: "
        "gradnorm on mAP50; none established below it; 1 not separated and 0 withheld.")
    worse = tidy({"static": {"mAP50": BASE, "view_accuracy": BASE},
                  "gradnorm": {"mAP50": BASE - [0.04, 0.05, 0.06, 0.05, 0.05], "view_accuracy": BASE}}, range(5),
                 converged=[True] * 10)
    assert "none established above it; established below it: gradnorm on mAP50;" in T.prior_sentence(verdicts_of(worse))
    assert T.prior_sentence(verdicts_of(clear_case()), reference="equal") == ""  # nothing compared with it


def test_the_smoke_like_case_withholds_every_verdict():
    one = tidy({"static": {"mAP50": [0.1], "view_accuracy": [0.3]},
                "gradnorm": {"mAP50": [0.2], "view_accuracy": [0.4]}}, [0], converged=[False, False])
    out = verdicts_of(one)
    assert [v.status for v in out] == ["withheld"] * 2
    assert out[0].reason == "run not converged: gradnorm seed 0, static seed 0" and out[0].converged is False
    assert out[0].render() == f"Withheld (run not converged: gradnorm seed 0, static seed 0): {out[0].sentence}"
    # converged but one seed: withheld for n; and a profile that cannot support verdicts withholds all
    one["converged"] = True
    assert {v.reason for v in verdicts_of(one)} == {"n = 1 seeds < 5"}
    assert {(v.status, v.reason) for v in verdicts_of(clear_case(), supported=False)} == {
        ("withheld", "this profile cannot support verdicts")}


def test_verdicts_round_trip_through_strict_json(tmp_path):
    vs = verdicts_of(clear_case()) + verdicts_of(tidy({"static": {"mAP50": [0.1], "view_accuracy": [0.3]},
                                                      "gradnorm": {"mAP50": [0.2], "view_accuracy": [0.4]}}, [0]))
    assert any(math.isnan(v.interval[0]) for v in vs)  # one seed: no interval, written as null
    path = V.write_verdicts(vs, tmp_path / "reports" / "smoke" / "verdicts.json")
    text = path.read_text()
    json.loads(text, parse_constant=lambda c: pytest.fail(f"non-strict JSON constant {c}"))
    assert "NaN" not in text and "null" in text
    back = V.read_verdicts(path)
    assert [V.to_dict(v) for v in back] == [V.to_dict(v) for v in vs]
    assert [v.render() for v in back] == [v.render() for v in vs]
    assert V.verdicts_path("smoke").parts[-3:] == ("reports", "smoke", "verdicts.json")


def numbers(text: str) -> list[str]:
    return re.findall(r"(?<![\w.])[-+]?\d+(?:\.\d+)?", text)  # not the 50 of "mAP50"


def test_the_answer_holds_only_numbers_present_in_the_verdicts():
    vs = verdicts_of(clear_case())
    claims = ["gradnorm_vs_static.mAP50", "gradnorm_vs_static.view_accuracy"]
    sentences = V.answer(vs, claims)
    assert len(sentences) == 2
    for v, s in zip(vs, sentences):
        present = [x for x in (*v.values.values(), *v.interval, v.n) if isinstance(x, (int, float))]
        for token in numbers(s):
            digits = len(token.split(".")[1]) if "." in token else 0
            assert any(round(x, digits) == pytest.approx(float(token)) for x in present), (token, s)
    with pytest.raises(KeyError, match="no verdict for claims"):
        V.answer(vs, ["interference"])


def test_a_verdict_names_its_bad_input():
    with pytest.raises(ValueError, match="status 'maybe'"):
        V.Verdict("c", "x", {}, "t", (0.0, 1.0), 5, True, "maybe")
    with pytest.raises(ValueError, match="withheld without a reason"):
        V.Verdict("c", "x", {}, "t", (0.0, 1.0), 5, True, "withheld")
    with pytest.raises(ValueError, match="does not fill"):
        V.Verdict("c", "{missing}", {}, "t", (0.0, 1.0), 5, True, "established")


def history(cos, det, view, every=2) -> pd.DataFrame:
    """A run's history measuring interference every ``every`` steps (empty cells between)."""
    rows = []
    for i, (c, d, v) in enumerate(zip(cos, det, view)):
        rows.append({"step": i * every, "grad_cos": c, "grad_norm_det": d, "grad_norm_view": v})
        rows += [{"step": i * every + k, "grad_cos": math.nan, "grad_norm_det": math.nan,
                  "grad_norm_view": math.nan} for k in range(1, every)]
    return pd.DataFrame(rows)


def test_run_interference_averages_measured_steps_only():
    cos, ratio = run_interference(history([0.2, -0.4], [2.0, 8.0], [1.0, 1.0]))
    assert cos == pytest.approx(-0.1) and ratio == pytest.approx((math.log(2) + math.log(8)) / 2)
    with pytest.raises(ValueError, match=r"lacks \['grad_norm_view'\]"):
        run_interference(pd.DataFrame({"grad_cos": [0.1], "grad_norm_det": [1.0]}))


def test_interference_evidence_known_answers():
    seeds = range(5)
    # cosines below zero in every seed: conflicting directions
    conflict = interference_summary(history([-0.3 - 0.01 * s, -0.2], [1, 1], [1, 1]) for s in seeds)
    assert conflict["evidence"] == CONFLICT and conflict["n"] == 5
    assert conflict["cos"] == pytest.approx(np.mean([(-0.5 - 0.01 * s) / 2 for s in seeds]))
    # cosines around zero, detection gradient 10x the view one: loss-scale imbalance
    imbalance = interference_summary(history([0.1 * (-1) ** s, 0.0], [10 + s, 10], [1, 1]) for s in seeds)
    assert imbalance["evidence"] == IMBALANCE and imbalance["log norm ratio low"] > 0
    assert imbalance["cos low"] < 0 < imbalance["cos high"]
    # cosines around zero, balanced norms: nothing shown; one run: no interval, nothing shown
    balanced = interference_summary(history([0.1 * (-1) ** s], [1 + 0.1 * (-1) ** s], [1]) for s in seeds)
    assert balanced["evidence"] == NONE_SHOWN
    single = interference_summary([history([-0.5, -0.6], [1, 1], [1, 1])])
    assert single["evidence"] == NONE_SHOWN and single["n"] == 1 and math.isnan(single["cos low"])


def with_layers(h: pd.DataFrame, layers: dict) -> pd.DataFrame:
    """``h`` with ``grad_cos.<layer>`` columns: each layer's cosine on the measured rows, empty between."""
    h = h.copy()
    for name, value in layers.items():
        h[f"grad_cos.{name}"] = np.where(h["grad_cos"].notna(), value, np.nan)
    return h


def test_per_layer_cosines_are_read_by_their_interval_over_seeds():
    # stem agrees in every seed, stage5 conflicts in every seed, fpn.out swings around zero
    hs = [with_layers(history([0.01, 0.02], [1, 1], [1, 1]),
                      {"backbone.stem": 0.4 + 0.01 * s, "backbone.stage5": -0.2 - 0.01 * s, "fpn.out": 0.1 * (-1) ** s})
          for s in range(5)]
    table = layer_summary(hs)
    assert list(table.index) == ["backbone.stem", "backbone.stage5", "fpn.out"]  # the logged order
    assert list(table["reading"]) == ["agree", "conflict", "not separated from zero"]
    assert table.loc["backbone.stem", "cos"] == pytest.approx(0.42) and (table["n"] == 5).all()
    summary = interference_summary(hs)
    assert (summary["layers"], summary["layers conflicting"], summary["layers agreeing"]) == (
        3, ["backbone.stage5"], ["backbone.stem"])
    sentence = V.from_interference(summary, "interference", "histories", converged=True).sentence
    assert sentence.endswith("Per shared layer (each its own 95% t interval over seeds, not adjusted for the 3 "
                             "layers), the cosine's interval lies below zero in 1 of 3 layers (backbone.stage5) and "
                             "above zero in 1 (backbone.stem).")
    unlogged = V.from_interference(interference_summary(history([0.1], [1], [1]) for _ in range(5)), "i", "h")
    assert unlogged.sentence.endswith("Per-layer cosines were not logged by these runs.")
    assert layer_summary([]).empty


def test_an_interference_verdict_is_withheld_below_min_n():
    hs = [history([-0.3 - 0.01 * s, -0.2], [1, 1], [1, 1]) for s in range(5)]
    v = V.from_interference(interference_summary(hs), "interference", "figure interference", converged=True)
    assert v.status == "established" and v.sentence.startswith("Upstream's shared network over 5 seeds: conflicting directions")
    v3 = V.from_interference(interference_summary(hs[:3]), "interference", "figure interference")
    assert v3.status == "withheld" and v3.render() == f"Withheld (n = 3 seeds < 5): {v3.sentence}"


def test_the_answer_ends_with_each_rows_cost_when_the_file_holds_it(tmp_path):
    vs = verdicts_of(clear_case())
    claims = ["gradnorm_vs_static.mAP50"]
    bare = T.read_answer(V.write_verdicts(vs, tmp_path / "a.json", claims))
    # no cost written: the claims, the tally, and whether anything beats the tuned static weight
    assert bare == V.answer(vs, claims)[:1] + [T.tally_sentence(vs), T.prior_sentence(vs)]
    assert T.task_cost_sentence(vs) == ""  # no comparison of upstream's row with a single-task reference
    costed = T.read_answer(V.write_verdicts(vs, tmp_path / "b.json", claims,
                                            {"static": 0.5, "gradnorm": 1.25, "dual": float("nan")}))
    assert costed[:-1] == bare  # the cost comes last
    assert costed[-1] == ("Cost, training with tuning, measured on this machine (process-hours of the runs' "
                          "processes, two at a time on the machine's cores, so each moves with the load beside it): "
                          "static 0.50, gradnorm 1.25.")  # an unmeasured (NaN) cost is not printed


def test_the_interference_sentence_says_which_gradient_dominates_and_by_how_much():
    seeds = range(5)
    summary = interference_summary(history([0.02 * (-1) ** s, 0.0], [1, 1], [4 + 0.1 * s, 4]) for s in seeds)
    v = V.from_interference(summary, "interference", "histories", converged=True)
    assert "loss-scale imbalance" in v.sentence
    assert "unweighted, the view loss's gradient is about 4.1 times the other's" in v.sentence  # exp(mean ln(4 + s/10))


def test_a_positive_mean_cosine_is_not_read_as_no_conflict_when_steps_conflict():
    """The full build: mean cosine +0.048 [+0.027, +0.070] while 38% of steps had a negative cosine."""
    steps = lambda s: [0.3, -0.1, 0.2, -0.2, 0.25 + 0.01 * s]  # noqa: E731  2 of 5 steps conflict
    summary = interference_summary(history(steps(s), [1] * 5, [4] * 5) for s in range(5))
    v = V.from_interference(summary, "interference", "histories", converged=True)
    assert "no conflict" not in v.sentence and "40% [40, 40] of measured steps conflict" in v.sentence


def test_an_interval_that_does_not_exist_is_said_in_words_not_as_nan():
    one = interference_summary([history([0.1, 0.1], [1, 1], [2, 2])])
    text = V.from_interference(one, "interference", "histories").render()
    assert "nan" not in text.lower().replace("nanometer", "") and "[no interval]" in text
    assert "the view loss's gradient is about 2.0 times" in text


def test_the_sentence_reads_the_cosine_by_its_interval_and_weighs_the_gradients_with_the_runs_weights():
    def weighted(s):
        h = history([0.05 + 0.01 * s, 0.06], [1, 1], [8, 8])
        return h.assign(w_det=1.0, w_view=0.01)
    summary = interference_summary(weighted(s) for s in range(5))
    v = V.from_interference(summary, "interference", "histories", converged=True)
    assert "(above zero: the tasks' gradients agree on average), while 0% [0, 0] of measured steps conflict" \
        in v.sentence
    assert "unweighted, the view loss's gradient is about 8.0 times the other's" in v.sentence
    # with weights 1 and 0.01 the view's 8x becomes 0.08x: detection reaches the trunk 12.5 times the view
    assert "with the run's loss weights the detection gradient reaches the shared weights about 12.5 times" in v.sentence


def test_the_answer_says_how_the_comparisons_came_out(tmp_path):
    vs = verdicts_of(clear_case())  # one established, one not
    one = tidy({"static": {"mAP50": [0.1], "view_accuracy": [0.3]}, "gradnorm": {"mAP50": [0.2], "view_accuracy": [0.4]}}, [0])
    vs += verdicts_of(one)  # two withheld for n
    path = V.write_verdicts(vs, tmp_path / "v.json", ["gradnorm_vs_static.mAP50"])
    sentences = T.read_answer(path)
    assert sentences[1] == ("Of 4 paired comparisons between methods (4 against the tuned static weight), 1 "
                            "established, 1 not established and 2 withheld (n = 1 seeds < 5: 2).")


def test_the_answer_says_whether_sharing_costs_a_task_and_names_the_unconverged_runs(tmp_path):
    def v(method, reference, metric, status, diff, low, high, reason=""):
        values = {"method": method, "reference": reference, "metric": metric, "n": 5, "difference": diff,
                  "low": low, "high": high}
        return V.Verdict(f"{method} vs {reference}: {metric}", "{method} {difference:+.3f}", values, "t.csv",
                         (low, high), 5, status != "withheld", status, reason)
    vs = [v("original", "det_only", "mAP50", "not established", 0.078, -0.033, 0.189),
          v("original", "view_only", "view_accuracy", "established", -0.046, -0.056, -0.036),
          v("uw", "static", "mAP50", "withheld", -0.2, -0.3, -0.1, "run not converged: uw seed 3"),
          v("uw", "det_only", "mAP50", "withheld", -0.2, -0.3, -0.1, "run not converged: uw seed 3"),
          v("pcgrad", "static", "mAP50", "withheld", -0.2, -0.3, -0.1, "run not converged: pcgrad seed 2")]
    assert T.task_cost_sentence(vs) == (
        "Does sharing cost either task? original against detection alone on test mAP50: +0.078 [-0.033, +0.189], "
        "not established; against classification alone on test view_accuracy: -0.046 [-0.056, -0.036], "
        "established.")
    assert T.tally_sentence(vs) == (
        "Of 5 paired comparisons between methods (2 against detection alone, 1 against classification alone, 2 "
        "against the tuned static weight), 1 established, 1 not established and 3 withheld (run not converged: 3, "
        "from uw seed 3, pcgrad seed 2).")

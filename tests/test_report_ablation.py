"""Ablation profiles and the side-by-side of verdicts (lib.report.ablation)."""
import math

import pytest

from lib.report import ablation
from lib.report import verdicts as V
from lib.report.profiles import ProfileError, check_common, load_profile


def verdict(claim, status, difference, low=math.nan, high=math.nan, n=5):
    values = {"method": "m", "reference": "r", "metric": "x", "n": n, "difference": difference, "low": low,
              "high": high, "p": 0.01, "p_holm": 0.02}
    reason = "n = 3 seeds < 5" if status == "withheld" else ""
    return V.Verdict(claim, "{method} {difference:+.3f}", values, "t.csv", (low, high), n, True, status, reason)


def write(root, profile, vs):
    V.write_verdicts(vs, root / profile / "verdicts.json")


def test_a_claim_survives_changes_or_is_not_comparable(tmp_path):
    write(tmp_path, "full", [verdict("a", "established", 0.2, 0.1, 0.3), verdict("b", "established", 0.2, 0.1, 0.3),
                             verdict("c", "not established", 0.0, -0.1, 0.1), verdict("d", "established", 0.1, 0.05, 0.2)])
    write(tmp_path, "ablation-x", [verdict("a", "established", 0.1, 0.05, 0.2), verdict("b", "not established", 0.0),
                                   verdict("c", "withheld", 0.0), verdict("d", "established", -0.1, -0.2, -0.05)])
    table = ablation.side_by_side(["full", "ablation-x"], tmp_path)
    assert table["outcome"].to_dict() == {"a": "survives", "b": "changes", "c": "not comparable", "d": "changes"}
    assert table.loc["a", "full"] == "established: +0.200 [+0.100, +0.300]"
    assert ablation.counts(table) == "2 change, 1 survives, 1 not comparable"


def test_a_claim_one_report_does_not_make_is_told_apart_from_a_withheld_one(tmp_path):
    write(tmp_path, "full", [verdict("a", "established", 0.2, 0.1, 0.3), verdict("b", "established", 0.2, 0.1, 0.3)])
    write(tmp_path, "ablation-x", [verdict("a", "withheld", 0.0)])
    table = ablation.side_by_side(["full", "ablation-x"], tmp_path)
    assert table["outcome"].to_dict() == {"a": "not comparable", "b": "not made everywhere"}
    assert table.loc["b", "ablation-x"] == "not made"


def test_the_page_names_each_build_and_counts_only_claims_every_report_makes(tmp_path):
    import json

    write(tmp_path, "full", [verdict("a", "established", 0.2, 0.1, 0.3), verdict("b", "established", 0.2, 0.1, 0.3)])
    write(tmp_path, "ablation-x", [verdict("a", "established", 0.3, 0.1, 0.5)])
    (tmp_path / "full" / "provenance.json").write_text(json.dumps({"git": {"commit": "0123456789abcdef"},
                                                                   "created": "2026-12-07"}))
    page = tmp_path / "page.md"
    assert ablation.main(["full", "ablation-x", "--root", str(tmp_path), "--page", str(page)]) == 0
    text = page.read_text()
    assert "- `full`: commit `0123456789ab`, 2026-12-07" in text
    assert "- `ablation-x`: build unknown (no provenance.json)" in text
    assert "Of the 1 claims every report makes: 1 survives." in text
    assert "| a | established: +0.200 [+0.100, +0.300] | established: +0.300 [+0.100, +0.500] | survives |" in text


def test_the_command_writes_the_table_and_refuses_an_unbuilt_report(tmp_path, capsys):
    write(tmp_path, "full", [verdict("a", "established", 0.2, 0.1, 0.3)])
    write(tmp_path, "ablation-x", [verdict("a", "established", 0.3, 0.1, 0.5)])
    assert ablation.main(["full", "ablation-x", "--root", str(tmp_path)]) == 0
    assert (tmp_path / "ablation.csv").read_text().startswith("claim,full,ablation-x,outcome")
    assert "1 survives" in capsys.readouterr().out
    assert ablation.main(["full", "missing", "--root", str(tmp_path)]) == 2
    assert "make report PROFILE=missing" in capsys.readouterr().err


@pytest.mark.parametrize("name, knob", [("ablation-coupling", {"view_coupling": 0.0}),
                                        ("ablation-contrast", {"jet_opacity": 0.35})])
def test_an_ablation_profile_is_full_on_fewer_rows_with_one_benchmark_knob_changed(name, knob):
    """Every row an ablation keeps has full's settings, seeds and stopping rule; only the benchmark differs."""
    full, other = load_profile("full"), load_profile(name)
    common, full_common = dict(other["common"]), dict(full["common"])
    assert common.pop("synthetic") == knob
    tuning, full_tuning = common.pop("tuning"), full_common.pop("tuning")
    assert common == full_common
    assert tuning and all(tuning[row] == full_tuning[row] for row in tuning)
    for notebook, params in other["notebooks"].items():
        for key, value in params.items():
            if key == "methods":
                assert set(value) <= set(full["notebooks"][notebook]["methods"]), notebook
                kept = [m for m in full["notebooks"][notebook]["methods"] if m in value]
                assert value == kept, notebook  # full's order
            elif notebook == "07_findings" and key in ("alphas", "weight_optimizers"):
                continue  # the sweep, cut to one setting
            else:
                assert value == full["notebooks"][notebook][key], (notebook, key)
    compared = set(other["notebooks"]["04_comparison"]["methods"]) | set(tuning)
    assert {"original", "det_only", "view_only", "static", "dual"} <= compared  # what the answer rests on
    assert other["notebooks"]["04_comparison"]["methods"] == other["notebooks"]["08_conclusions"]["methods"]


def test_a_bad_synthetic_knob_is_refused_naming_it():
    with pytest.raises(ProfileError, match=r"^p: common: synthetic: .*jet_opacty"):
        check_common({"synthetic": {"jet_opacty": 0.3}}, "p: common")


def test_the_synthetic_knob_reaches_the_generator(monkeypatch, tmp_path):
    from lib.report import context

    seen = []
    monkeypatch.setattr(context, "ensure_synthetic", lambda cfg, root: seen.append(cfg) or tmp_path / "data.yaml")
    context.resolve_dataset(None, [10, 5, 5], {"view_coupling": 0.0})
    context.resolve_dataset(None, None, {"jet_opacity": 0.35})
    assert (seen[0].view_coupling, seen[0].n_train, seen[0].jet_opacity) == (0.0, 10, 0.7)
    assert (seen[1].jet_opacity, seen[1].n_train) == (0.35, 834)  # the real split sizes by default


def test_the_readme_block_counts_the_claims_every_report_makes_and_shows_each_change(tmp_path):
    write(tmp_path, "full", [verdict("a", "established", 0.2, 0.1, 0.3), verdict("b", "not established", 0.0, -0.1, 0.1),
                             verdict("c", "established", 0.2, 0.1, 0.3)])
    write(tmp_path, "ablation-x", [verdict("a", "established", 0.3, 0.1, 0.5),
                                   verdict("b", "established", -0.2, -0.3, -0.1)])
    table = ablation.side_by_side(["full", "ablation-x"], tmp_path)
    block = ablation.readme_block(table, ["full", "ablation-x"], tmp_path, "docs/results/ablation.md")
    assert block.startswith("`python -m lib.report.ablation full ablation-x`: Of the 2 claims every report makes: ")
    assert ablation.summary(table) == ("Of the 2 claims every report makes: 1 survives, 1 changes. All claims: "
                                       "1 survives, 1 changes, 1 not made everywhere.")
    assert "1 survives" in block and "1 changes" in block
    assert ("- **b** changes: `full` not established: +0.000 [-0.100, +0.100]; `ablation-x` established: -0.200 "
            "[-0.300, -0.100]") in block
    assert "**a**" not in block and "**c**" not in block  # survives; not made in the ablation
    assert block.endswith("Every claim: [docs/results/ablation.md](docs/results/ablation.md). "
                          + ablation.STATUS_NOTE)


def test_an_interference_claim_changes_when_its_kind_or_its_cosines_reading_does(tmp_path):
    def interference(evidence, cos_reading, cos, low, high):
        values = {"n": 5, "evidence": evidence, "cos": cos, "cos_reading": cos_reading}
        return V.Verdict("interference", "{evidence}", values, "h", (low, high), 5, True, "established", "")
    above = interference("loss-scale imbalance", "above zero", 0.05, 0.03, 0.07)
    write(tmp_path, "full", [above])
    write(tmp_path, "same", [interference("loss-scale imbalance", "above zero", 0.01, 0.001, 0.02)])
    write(tmp_path, "flat", [interference("loss-scale imbalance", "not separated from zero", 0.05, -0.001, 0.1)])
    write(tmp_path, "flip", [interference("conflicting directions", "below zero", -0.05, -0.08, -0.02)])
    assert ablation.side_by_side(["full", "same"], tmp_path).loc["interference", "outcome"] == "survives"
    flat = ablation.side_by_side(["full", "flat"], tmp_path)
    assert flat.loc["interference", "outcome"] == "changes"
    assert flat.loc["interference", "flat"] == ("established (loss-scale imbalance; cosine not separated from zero): "
                                                "+0.050 [-0.001, +0.100]")
    assert ablation.side_by_side(["full", "flip"], tmp_path).loc["interference", "outcome"] == "changes"


def test_a_file_that_is_not_a_verdicts_json_or_a_profile_named_twice_is_one_line(tmp_path, capsys):
    write(tmp_path, "full", [verdict("a", "established", 0.2, 0.1, 0.3)])
    (tmp_path / "broken").mkdir()
    (tmp_path / "broken" / "verdicts.json").write_text("{not json")
    (tmp_path / "empty").mkdir()
    (tmp_path / "empty" / "verdicts.json").write_text("{}")
    for other in ("broken", "empty"):
        assert ablation.main(["full", other, "--root", str(tmp_path)]) == 2
        err = capsys.readouterr().err
        assert err.count("\n") == 1 and f"{other}/verdicts.json: not a verdicts.json written by the report" in err
    assert ablation.main(["full", "full", "--root", str(tmp_path)]) == 2
    assert "profiles named twice: full full" in capsys.readouterr().err

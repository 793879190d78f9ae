"""The report's run plan (lib.report.plan): exactly the runs the notebooks use, trained before them."""
from lib.report import plan
from lib.report.profiles import NOTEBOOKS
from lib.report.runner import plan as notebook_plan
from lib.store.runs import RunStore


def test_the_smoke_reports_plan_is_exactly_the_runs_its_notebooks_used(smoke_report, monkeypatch):
    out, base = smoke_report
    monkeypatch.setenv("ECHO_MTL_RUNS", str(base / "runs"))
    monkeypatch.setenv("ECHO_MTL_DATA", str(base / "data"))
    cfgs = plan.report_configs(notebook_plan("smoke"), "smoke")
    store = RunStore()
    planned = {store.path(c).name for c in cfgs.values()}
    trained = {p.parent.name for p in (base / "runs").glob("*/MANIFEST.json")}
    assert planned == trained  # nothing trained that no notebook used, nothing a notebook trained on its own
    import json
    used = {k for nb in json.loads((out / "provenance.json").read_text())["notebooks"].values()
            for keys in nb["sources"].values() for k in keys}
    assert used <= planned


def test_requests_follow_each_notebooks_parameters():
    defaults = plan.notebook_defaults(NOTEBOOKS / "07_findings.ipynb")
    sweep, collapse, stability = plan.requests("07_findings", defaults, [0, 1, 2])
    assert sweep[1] == [0] and set(plan.SWEEP_REFERENCES) <= set(sweep[0])  # the sweep at the first seed only
    assert len(sweep[0]) == len(defaults["alphas"]) * sum(map(len, defaults["weight_optimizers"].values())) + 3
    assert collapse == (["upstream_rule", "gradnorm"], [0]) and stability == (["gradnorm"], [0, 1, 2])
    wide = plan.requests("07_findings", {**defaults, "sweep_seeds": [4, 5]}, [0])
    assert wide[0][1] == [4, 5]
    grid = plan.requests("04_comparison", {"methods": ["original"], "static_grid": [0.1, 1.0]}, [0, 1])
    assert grid == [(["original", "static_0.1", "static_1"], [0, 1])]
    assert plan.requests("02b_gradnorm_paper", {}, [0]) == []

"""Each section's runs are declared once (lib.report.requests): its notebook fetches them, the runner trains
exactly them first."""
import ast
import inspect
import json
from pathlib import Path

import nbformat
import pytest

from lib.config import TrainConfig
from lib.experiments.methods import configs
from lib.report import context, requests
from lib.report.profiles import REPORT_KEYS, SECTION_KEYS, ProfileError, notebook_paths
from lib.report.runner import notebook_parameters
from lib.store.runs import RunStore

PROFILES = ["smoke", "default", "full"]


def test_the_smoke_reports_plan_is_exactly_the_runs_its_notebooks_used(smoke_report, monkeypatch):
    out, base = smoke_report
    monkeypatch.setenv("ECHO_MTL_RUNS", str(base / "runs"))
    monkeypatch.setenv("ECHO_MTL_DATA", str(base / "data"))
    cfgs = requests.report_configs(notebook_parameters("smoke"), "smoke")
    store = RunStore()
    planned = {store.path(c).name for c in cfgs.values()}
    trained = {p.parent.name for p in (base / "runs").glob("*/MANIFEST.json")}
    assert planned == trained  # nothing trained that no notebook used, nothing a notebook trained on its own
    used = {k for nb in json.loads((out / "provenance.json").read_text())["notebooks"].values()
            for keys in nb["sources"].values() for k in keys}
    assert used <= planned


def code_cells(path: Path) -> tuple[ast.Module, list[ast.Module]]:
    """(the parameters cell, the other code cells in order), parsed."""
    cells = [c for c in nbformat.read(path, as_version=4).cells if c.cell_type == "code"]
    return ast.parse(cells[0].source), [ast.parse(c.source) for c in cells[1:]]


def declared_defaults(parameters: ast.Module) -> dict:
    """The parameters cell's names and literal defaults, read without papermill."""
    out = {}
    for node in parameters.body:
        target = node.target if isinstance(node, ast.AnnAssign) else node.targets[0]
        out[target.id] = ast.literal_eval(node.value)
    return out


def the_request(stem: str, cells: list[ast.Module]) -> ast.Call:
    """The notebook's one ``wanted = requests.<its section's function>(ctx.seeds, name=name, ...)``, checked:
    every argument is the notebook parameter of that name, not reassigned before the call."""
    statements = [s for cell in cells for s in cell.body]
    calls = [(i, s.value) for i, s in enumerate(statements) if isinstance(s, ast.Assign)
             and ast.unparse(s.targets) == "wanted" and isinstance(s.value, ast.Call)]
    assert len(calls) == 1, f"{stem}: {len(calls)} assignments of wanted"
    at, call = calls[0]
    assert ast.unparse(call.func) == f"requests.{requests.SECTIONS[stem].__name__}", stem
    assert [ast.unparse(a) for a in call.args] == ["ctx.seeds"], stem
    # a notebook parameter by its own name, or a report-wide key of the profile as ctx.<key>
    assert all(isinstance(k.value, ast.Name) and k.value.id == k.arg and k.arg not in SECTION_KEYS
               or ast.unparse(k.value) == f"ctx.{k.arg}" and k.arg in SECTION_KEYS for k in call.keywords), stem
    takes = [k for k in inspect.signature(requests.SECTIONS[stem]).parameters if k != "seeds"]
    assert sorted(k.arg for k in call.keywords) == sorted(takes), stem
    before = {n.id for s in statements[:at] for n in ast.walk(s)
              if isinstance(n, ast.Name) and isinstance(n.ctx, ast.Store)}
    assert not before & set(requests.parameter_names(stem)), f"{stem} reassigns a parameter before requesting"
    return call


def fetched_groups(stem: str, cells: list[ast.Module]) -> list[str]:
    """The group each ``ctx.runs`` call fetches; every call must be ``ctx.runs(*wanted["<group>"])``."""
    groups = []
    for cell in cells:
        for n in ast.walk(cell):
            if isinstance(n, ast.Call) and ast.unparse(n.func) == "ctx.runs":
                arg = n.args[0] if len(n.args) == 1 and not n.keywords else None
                ok = (isinstance(arg, ast.Starred) and isinstance(arg.value, ast.Subscript)
                      and ast.unparse(arg.value.value) == "wanted" and isinstance(arg.value.slice, ast.Constant))
                assert ok, f"{stem}: {ast.unparse(n)} does not fetch a group of its requests"
                groups.append(arg.value.slice.value)
    return groups


@pytest.mark.parametrize("profile", PROFILES)
def test_every_notebook_fetches_what_its_section_declares_and_the_runner_trains_exactly_that(profile, monkeypatch):
    """Static: each ``ctx.runs`` takes a group of its section's function, called with the notebook's own
    parameters. Dynamic: that function, with the notebook's defaults and the profile's values, gives what
    the runner trains, configuration by configuration."""
    monkeypatch.setattr(context, "resolve_dataset", lambda data, *synthetic: (data, Path("data.yaml")))  # no data
    steps = notebook_parameters(profile)
    common = context.settings(profile)
    base = TrainConfig(**{k: v for k, v in common.items() if k not in REPORT_KEYS})
    expected = {}
    for notebook, given in steps:
        parameters, cells = code_cells(notebook)
        groups = fetched_groups(notebook.stem, cells)
        if notebook.stem not in requests.SECTIONS:
            assert not groups, f"{notebook.stem} fetches runs no section function declares"
            continue
        call = the_request(notebook.stem, cells)
        params = {**declared_defaults(parameters), **given}
        wanted = requests.SECTIONS[notebook.stem](common["seeds"], **{
            k.arg: common.get(k.arg) if k.arg in SECTION_KEYS else params[k.arg] for k in call.keywords})
        assert sorted(set(groups)) == sorted(wanted), notebook.stem  # each group fetched, none unknown
        assert requests.notebook_requests(notebook, given, profile) == wanted
        for methods, seeds in wanted.values():
            for key, cfg in configs(base, methods, seeds).items():
                expected[(notebook.stem, *key)] = cfg
    assert requests.report_configs(steps, profile) == expected


def test_no_notebook_repeats_a_method_list_or_imports_the_runners_constants():
    """The lists a section compares live in lib.report.requests; a notebook's ``methods`` defaults to them."""
    for path in notebook_paths():
        parameters, cells = code_cells(path)
        if "methods" in (defaults := declared_defaults(parameters)):
            assert defaults["methods"] is None, path.name
        for cell in cells:
            for n in ast.walk(cell):
                if isinstance(n, ast.ImportFrom):
                    assert n.module not in ("lib.report.plan", "lib.report.requests"), path.name
                    assert not {a.name for a in n.names} & {"plan"}, path.name
                if isinstance(n, ast.Attribute) and ast.unparse(n.value) == "requests":
                    assert callable(getattr(requests, n.attr)), f"{path.name} reads requests.{n.attr}"


def test_requests_follow_each_notebooks_parameters():
    sweep = requests.findings([0, 1, 2], alphas=[0.5, 1.5], weight_optimizers={"adam": [0.025], "sgd": [1.0]},
                              sweep_seeds=None, stability_methods=["gradnorm"], stability_seeds=[0, 1, 2])
    assert sweep["sweep"] == (["gradnorm_a0.5", "gradnorm_a1.5", "gradnorm_a0.5_sgd1", "gradnorm_a1.5_sgd1"], [0])
    assert sweep["references"] == (requests.SWEEP_REFERENCES, [0])  # the sweep's seeds, the first by default
    assert sweep["collapse"] == (["upstream_rule", "gradnorm"], [0])
    assert sweep["stability"] == (["gradnorm"], [0, 1, 2])
    wide = requests.findings([0], alphas=[1.5], weight_optimizers={"adam": [0.025]}, sweep_seeds=[4, 5],
                             stability_methods=[], stability_seeds=[])
    assert wide["sweep"].seeds == wide["references"].seeds == [4, 5]
    grid = requests.comparison([0, 1], methods=["original", "det_only", "view_only"],
                               tuning={"static": ["static_0.1", "static_1"]}, tuning_seeds=None)
    assert grid == {"compared": (["original", "det_only", "view_only"], [0, 1]),
                    "tuning": (["static_0.1", "static_1", "det_only", "view_only"], [0])}
    tuned = requests.comparison([0, 1, 2], methods=["uw", "det_only", "view_only"], tuning_seeds=[1, 2],
                                tuning={"uw": ["uw", "uw@lr=0.004"]})
    assert tuned == {"compared": (["det_only", "view_only"], [0, 1, 2]),
                     "tuning": (["uw", "uw@lr=0.004", "det_only", "view_only"], [1, 2])}
    default = requests.comparison([0], methods=None, tuning=None, tuning_seeds=None)
    assert default["compared"].methods == requests.COMPARED and default["tuning"].methods[:3] == [
        "static_0.01", "static_0.1", "static_1"]  # a profile without tuning: the static weight on upstream's grid
    assert len(set(requests.COMPARED)) == 12
    # section 3 tunes only the rows it shows, as section 4 does
    assert requests.dual_backbone_grid(None, {"dual": ["dual", "dual@lr=0.004"], "static": ["static_1"]}) == {
        "dual": ["dual", "dual@lr=0.004"], "original": ["original"], "det_only": ["det_only"],
        "view_only": ["view_only"]}


@pytest.mark.parametrize("call, parameter", [
    (lambda: requests.comparison([0], methods=["magic", "det_only", "view_only"], tuning={}, tuning_seeds=None),
     "methods"),
    (lambda: requests.comparison([0], methods=["original"], tuning={}, tuning_seeds=None), "methods"),  # no refs
    (lambda: requests.conclusions([0], methods="gradnorm", tuning={}, tuning_seeds=None), "methods"),  # a string
    (lambda: requests.visualisation([0], methods=None, focus=["magic"], tuning=None, tuning_seeds=None), "focus"),
])
def test_a_bad_method_parameter_is_refused_naming_it(call, parameter):
    with pytest.raises(ValueError, match=f"^parameter {parameter}: "):
        call()


def test_the_runner_refuses_a_profiles_bad_method_before_any_run():
    nb = next(p for p in notebook_paths() if p.stem == "08_conclusions")
    with pytest.raises(ProfileError, match="08_conclusions.ipynb: parameter methods: unknown method 'magic'"):
        requests.report_configs([(nb, {"profile": "smoke", "methods": ["magic"]})], "smoke")

"""The report: every notebook runs on the smoke profile; the runner fails loudly; notebooks stay clean."""
import json
from pathlib import Path

import nbformat
import pandas as pd
import pytest

from lib.report import requests
from lib.report.profiles import ProfileError, load_profile, notebook_paths

ROOT = Path(__file__).resolve().parent.parent
SECTIONS = [p.stem for p in notebook_paths()]


def test_every_section_runs_and_writes_its_tables_and_figures(smoke_report):
    out, _ = smoke_report
    index = (out / "index.html").read_text()
    for name in SECTIONS:
        assert (out / f"{name}.ipynb").exists() and (out / f"{name}.html").exists()
        assert f'href="{name}.html"' in index
        tables = list((out / name / "tables").glob("*.csv"))
        figs = list((out / name / "figures").glob("*.png"))
        assert tables or figs, f"{name} wrote no table and no figure"
        sources = json.loads((out / name / "sources.json").read_text())
        assert set(sources) == {f"tables/{t.name}" for t in tables} | {f"figures/{f.name}" for f in figs}
    prov = json.loads((out / "provenance.json").read_text())
    assert prov["profile"] == "smoke" and prov["git"]["commit"] and set(prov["notebooks"]) == set(SECTIONS)
    assert prov["packages"]["torch"]


def test_the_smoke_report_withholds_every_verdict_and_the_index_opens_with_them(smoke_report):
    from lib.report.verdicts import WITHHELD, read_answer, read_verdicts

    out, _ = smoke_report
    verdicts = read_verdicts(out / "verdicts.json")
    assert verdicts and {v.status for v in verdicts} == {WITHHELD} and all(v.reason for v in verdicts)
    answer = read_answer(out / "verdicts.json")
    index = (out / "index.html").read_text()
    assert len(answer) >= 2 and index.index("The answer") < index.index("Headline")
    assert all(s.replace("'", "&#39;") in index for s in answer)


def test_executed_notebooks_embed_their_figures(smoke_report):
    """MPLBACKEND=agg or a non-inline backend would drop every figure while exiting 0."""
    out, _ = smoke_report
    for name in SECTIONS:
        nb = nbformat.read(out / f"{name}.ipynb", as_version=4)
        images = sum("image/png" in o.get("data", {}) for c in nb.cells if c.cell_type == "code" for o in c.outputs)
        n_figures = len(list((out / name / "figures").glob("*.png")))
        assert images >= n_figures, f"{name}: {n_figures} figures written, {images} shown in the notebook"
        if n_figures:
            assert "data:image/png;base64" in (out / f"{name}.html").read_text()
    assert sum(len(list((out / n / "figures").glob("*.png"))) for n in SECTIONS) >= 15


def test_comparison_table_has_every_method(smoke_report):
    out, _ = smoke_report
    table = pd.read_csv(out / "04_comparison" / "tables" / "comparison_numbers.csv", index_col=0)
    for m in requests.COMPARED:
        assert m in table.index and table.loc[m, "setting"] == m  # untuned rows stand for themselves
    assert table.loc["static", "setting"] in ("static_0.01", "static_1")  # the smoke profile's grid


def test_a_failing_notebook_stops_the_runner_and_names_the_cell(tmp_path, monkeypatch):
    from lib.report import runner

    bad = tmp_path / "01_broken.ipynb"
    nb = nbformat.v4.new_notebook(cells=[
        nbformat.v4.new_code_cell("profile = 'smoke'", metadata={"tags": ["parameters"]}),
        nbformat.v4.new_code_cell("x = 1"),
        nbformat.v4.new_code_cell("raise RuntimeError('boom in cell two')"),
    ])
    nbformat.write(nb, bad)
    beside = tmp_path / "02_beside.ipynb"  # runs beside the broken one (the smoke profile has jobs: 2)
    nbformat.write(nbformat.v4.new_notebook(cells=[nbformat.v4.new_code_cell("import time; time.sleep(30)")]), beside)
    later = tmp_path / "03_later.ipynb"
    nbformat.write(nbformat.v4.new_notebook(cells=[nbformat.v4.new_code_cell("x = 2")]), later)
    monkeypatch.setattr(runner, "notebook_parameters",
                        lambda profile, only=None: [(bad, {}), (beside, {}), (later, {})])
    with pytest.raises(runner.NotebookFailed, match=r"01_broken.ipynb failed in cell 3 .*raise RuntimeError.*RuntimeError: boom"):
        runner.run_report("smoke", output_dir=str(tmp_path / "out"))
    assert (tmp_path / "out" / "01_broken.ipynb").exists()  # partial notebook kept
    assert (tmp_path / "out" / "02_beside.ipynb").exists()  # the one already running finished
    assert not (tmp_path / "out" / "03_later.ipynb").exists()  # no further notebook started


def test_bad_settings_fail_before_anything_is_written(tmp_path, monkeypatch):
    """epochs < 1, a missing data path, a typo: a clear error before any folder, data or run exists (an unknown
    method: tests/test_report_plan)."""
    from lib.report.context import start

    monkeypatch.setenv("ECHO_MTL_RUNS", str(tmp_path / "runs"))
    monkeypatch.setenv("ECHO_MTL_DATA", str(tmp_path / "data"))
    out = tmp_path / "out"
    cases = [({"overrides": {"epochs": -1}}, "epochs must be >= 1"),
             ({"overrides": {"data": str(tmp_path / "nope.yaml")}}, "setting data: no such file"),
             ({"overrides": {"epoch": 3}}, "unknown keys \\['epoch'\\]")]
    for kwargs, message in cases:
        with pytest.raises(ValueError, match=message):
            start("x", profile="smoke", output_dir=str(out), **kwargs)
    assert not out.exists() and not (tmp_path / "runs").exists() and not (tmp_path / "data").exists()


def test_a_typo_in_a_profiles_common_block_is_refused_before_any_run(tmp_path, monkeypatch):
    from lib.report import profiles, runner

    (tmp_path / "typo.yaml").write_text("common:\n  epochs: 2\n  eval_evry: 1\nnotebooks: {}\n")
    (tmp_path / "badvalue.yaml").write_text("common:\n  epochs: 0\nnotebooks: {}\n")
    monkeypatch.setattr(profiles, "PROFILES", tmp_path)
    with pytest.raises(ProfileError, match="typo.yaml: common: unknown keys \\['eval_evry'\\]"):
        runner.notebook_parameters("typo")
    with pytest.raises(ProfileError, match="badvalue.yaml: common: invalid TrainConfig: epochs must be >= 1"):
        runner.notebook_parameters("badvalue")


def test_one_set_of_defaults_profile_common_over_trainconfig(tmp_path, monkeypatch):
    """TrainConfig holds the defaults; a profile states only what differs; notebooks declare no training setting."""
    import papermill as pm

    from lib.config import TrainConfig
    from lib.report.context import settings, start
    from lib.report.profiles import REPORT_KEYS

    defaults = TrainConfig().to_dict()
    for name in ("default", "full", "smoke"):
        repeated = {k: v for k, v in load_profile(name)["common"].items() if k in defaults and defaults[k] == v}
        assert not repeated, f"profile {name} repeats TrainConfig defaults {repeated}"
    monkeypatch.setenv("ECHO_MTL_DATA", str(tmp_path / "data"))
    ctx = start("x", profile="smoke", output_dir=str(tmp_path / "out"), overrides={"epochs": 3})
    smoke = {k: v for k, v in settings("smoke").items() if k not in REPORT_KEYS}
    assert ctx.base == TrainConfig(**{**smoke, "epochs": 3, "data": str(ctx.data_yaml)})
    assert ctx.base.lr == defaults["lr"] and ctx.seeds == settings("smoke")["seeds"]
    for nb in notebook_paths():
        declared = pm.inspect_notebook(str(nb))
        # on_bad_label is the one TrainConfig field a notebook names (the issue asks for it as a parameter):
        # its default None defers to the profile, so it repeats no default either
        assert not set(declared) & (set(defaults) | set(REPORT_KEYS)) - {"on_bad_label"}, nb.name
        if "on_bad_label" in declared:
            assert declared["on_bad_label"]["default"] == "None", nb.name
    ctx = start("x", profile="smoke", output_dir=str(tmp_path / "out"), on_bad_label="skip")
    assert ctx.base.on_bad_label == "skip" and ctx.base.replace(on_bad_label="error") == TrainConfig(
        **{**smoke, "data": str(ctx.data_yaml)})
    with pytest.raises(ValueError, match="on_bad_label must be one of error, skip"):
        start("x", profile="smoke", output_dir=str(tmp_path / "out"), on_bad_label="ignore")


def test_committed_notebooks_carry_no_outputs_and_one_parameters_cell():
    for path in notebook_paths():
        nb = nbformat.read(path, as_version=4)
        code = [c for c in nb.cells if c.cell_type == "code"]
        assert all(not c.outputs and c.execution_count is None for c in code), path.name
        tagged = [c for c in nb.cells if "parameters" in c.metadata.get("tags", [])]
        assert len(tagged) == 1 and tagged[0] is code[0], path.name
        assert nb.cells[0].cell_type == "markdown" and nb.cells[0].source.startswith("# "), path.name


@pytest.fixture
def repo(tmp_path, monkeypatch):
    """A repository root with a published smoke report: ``reports/smoke/04_comparison`` with a table."""
    from lib.report import section

    monkeypatch.setattr(section, "REPO_ROOT", tmp_path)
    published = tmp_path / "reports" / "smoke" / "04_comparison" / "tables" / "comparison_numbers.csv"
    published.parent.mkdir(parents=True)
    published.write_text("published\n")
    return tmp_path


def test_a_section_run_by_hand_writes_scratch_and_leaves_the_published_report_untouched(repo, capsys):
    from lib.report.context import start
    from lib.report.section import Section

    before = sorted(p.relative_to(repo) for p in (repo / "reports").rglob("*"))
    sec = Section("04_comparison", "smoke")  # what start() builds when a notebook runs without output_dir
    sec.table(pd.DataFrame({"x": [1.0]}), "comparison_numbers")
    ctx = start("04_comparison", profile="smoke")
    assert sorted(p.relative_to(repo) for p in (repo / "reports").rglob("*")) == before
    assert (repo / "reports/smoke/04_comparison/tables/comparison_numbers.csv").read_text() == "published\n"
    assert sec.dir == ctx.section.dir == repo / "scratch" / "smoke" / "04_comparison"
    assert str(sec.dir) in capsys.readouterr().out  # the notebook's output says where its tables went


def test_the_runner_passes_every_notebook_the_report_folder(repo, monkeypatch):
    """Only the runner writes reports/<profile>/, and it always says so (``output_dir``)."""
    import shutil

    from lib.report import runner

    src = repo / "notebooks" / "01_tiny.ipynb"
    src.parent.mkdir()
    nbformat.write(nbformat.v4.new_notebook(cells=[nbformat.v4.new_markdown_cell("# 1. Tiny")]), src)
    given = []

    def execute(nb, params, out_dir, timeout):  # no kernel: record what the notebook would be given
        given.append(params)
        return shutil.copy(nb, out_dir / nb.name) and out_dir / nb.name

    monkeypatch.setattr(runner, "notebook_parameters", lambda profile, only=None: [(src, {"profile": profile})])
    monkeypatch.setattr(runner, "execute", execute)
    runner.run_report("smoke")
    assert given == [{"profile": "smoke", "output_dir": str(repo / "reports" / "smoke")}]

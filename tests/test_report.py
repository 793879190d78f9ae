"""The report: every notebook runs on the smoke profile; the runner fails loudly; notebooks stay clean."""
import json
import os
import subprocess
import sys
from pathlib import Path

import nbformat
import pandas as pd
import pytest

from lib.report.profiles import NOTEBOOKS, ProfileError, load_profile, notebook_paths, parameters_for
from lib.report.runner import plan

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
    table = pd.read_csv(out / "05_comparison" / "tables" / "comparison_numbers.csv", index_col=0)
    for m in ("original", "equal", "gradnorm", "uw", "dwa", "pcgrad", "cagrad", "famo", "detached", "dual",
              "det_only", "cls_only"):
        assert m in table.index
    assert any(i.startswith("static (tuned") for i in table.index)


def test_a_failing_notebook_stops_the_runner_and_names_the_cell(tmp_path, monkeypatch):
    from lib.report import runner

    bad = tmp_path / "01_broken.ipynb"
    nb = nbformat.v4.new_notebook(cells=[
        nbformat.v4.new_code_cell("profile = 'smoke'", metadata={"tags": ["parameters"]}),
        nbformat.v4.new_code_cell("x = 1"),
        nbformat.v4.new_code_cell("raise RuntimeError('boom in cell two')"),
    ])
    nbformat.write(nb, bad)
    later = tmp_path / "02_later.ipynb"
    nbformat.write(nbformat.v4.new_notebook(cells=[nbformat.v4.new_code_cell("x = 2")]), later)
    monkeypatch.setattr(runner, "plan", lambda profile, only=None: [(bad, {}), (later, {})])
    with pytest.raises(runner.NotebookFailed, match=r"01_broken.ipynb failed in cell 3 .*raise RuntimeError.*RuntimeError: boom"):
        runner.run_report("smoke", output_dir=str(tmp_path / "out"))
    assert (tmp_path / "out" / "01_broken.ipynb").exists()  # partial notebook kept
    assert not (tmp_path / "out" / "02_later.ipynb").exists()  # later notebooks not run


def test_bad_parameters_fail_before_training(tmp_path):
    """Unknown method, epochs < 1, a missing data path: a clear error in the first cell after the parameters."""
    from lib.report.context import start

    with pytest.raises(ValueError, match="parameter epochs must be an integer >= 1"):
        start("x", output_dir=str(tmp_path), epochs=-1)
    with pytest.raises(ValueError, match="parameter methods: unknown method 'magic'"):
        start("x", output_dir=str(tmp_path), methods=["magic"])
    with pytest.raises(ValueError, match="parameter data: no such file"):
        start("x", output_dir=str(tmp_path), data=str(tmp_path / "nope.yaml"))
    assert not (Path(os.environ.get("ECHO_MTL_RUNS", ROOT / "runs")) / "x").exists()


def test_profiles_only_set_declared_parameters():
    for name in ("smoke", "default", "full"):
        steps = plan(name)  # raises ProfileError on an unknown parameter or notebook
        assert [p.stem for p, _ in steps] == SECTIONS
    profile = load_profile("smoke")
    profile["notebooks"]["02_gradnorm"] = {"no_such_knob": 1}
    with pytest.raises(ProfileError, match="unknown parameters \\['no_such_knob'\\]"):
        parameters_for(profile, NOTEBOOKS / "02_gradnorm.ipynb", {"epochs"})


def test_committed_notebooks_carry_no_outputs_and_one_parameters_cell():
    for path in notebook_paths():
        nb = nbformat.read(path, as_version=4)
        code = [c for c in nb.cells if c.cell_type == "code"]
        assert all(not c.outputs and c.execution_count is None for c in code), path.name
        tagged = [c for c in nb.cells if "parameters" in c.metadata.get("tags", [])]
        assert len(tagged) == 1 and tagged[0] is code[0], path.name
        assert nb.cells[0].cell_type == "markdown" and nb.cells[0].source.startswith("# "), path.name

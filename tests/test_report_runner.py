"""The report's runner (lib.report.runner): a failing notebook stops it naming the cell; it passes every
notebook the report folder."""
import nbformat
import pytest


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


def test_a_build_during_which_the_code_changed_is_marked_dirty_with_both_commits():
    from lib.report.provenance import at_end

    start = {"commit": "a" * 40, "dirty": False}
    assert at_end(start, dict(start)) == start
    moved = at_end(start, {"commit": "b" * 40, "dirty": False})
    assert moved == {"commit": "a" * 40, "dirty": True, "changed_during_build": {"commit": "b" * 40, "dirty": False}}


def test_the_index_says_where_the_runs_trained_and_how_long_each_took(tmp_path):
    import json

    from lib.report.runtimes import training_places
    from lib.report.site import where_sentence

    for name, rec in {"a": {"executor": "gpus", "host": "n1", "devices": "0", "started": 0, "ended": 100},
                      "b": {"executor": "gpus", "host": "n1", "devices": "0", "started": 10, "ended": 310},
                      "c": {"executor": "gpus", "host": "n1", "devices": "1", "started": 0, "ended": 50},
                      "d": None}.items():
        (tmp_path / name).mkdir()
        if rec:
            (tmp_path / name / ".training.json").write_text(json.dumps(rec))
    rows = training_places(tmp_path, {"a", "b", "c", "d"})
    assert {(r["devices"], r["runs"], r["median_seconds"], r["max_seconds"]) for r in rows} == {
        ("0", 2, 200.0, 300.0), ("1", 1, 50.0, 50.0), ("?", 1, None, None)}
    by = {r["devices"]: where_sentence(r) for r in rows}
    assert by["0"] == "2 runs by executor gpus on host n1 (devices 0), 200 s median and 300 s longest per run"
    assert by["?"] == "1 run with no record of where (trained outside a batch)"


def test_a_build_counts_only_the_runs_it_trained_itself(tmp_path):
    """Two reports filling one store: each says it trained what it trained, not the other's runs."""
    import json

    from lib.report.runtimes import trained_by

    for name, build in {"a": "mine", "b": "other", "c": None}.items():
        (tmp_path / name).mkdir()
        (tmp_path / name / ".training.json").write_text(json.dumps({"started": 0, "ended": 1, "build": build}))
    assert trained_by(tmp_path, {"a", "b", "c", "d"}, "mine") == {"a"}

"""README.md's results block (lib.report.readme) and make bench's markdown pages (benchmarks.docs)."""
import json
import math
import os

import nbformat
import pandas as pd
import pytest

from lib.report import readme, runner

README = """# title

the question
<!-- results:begin -->
Not generated yet: run `make report`.
<!-- results:end -->

## Install
keep | this
"""

PROV = {"profile": "default", "created": "2025-01-02T03:04:05+00:00",
        "git": {"commit": "0123456789abcdef0123", "dirty": False}}


def fake_report(root, figure: bytes | None = b"\x89PNG fake"):
    """A built default report: provenance.json, the comparison numbers of three methods, the headline figure."""
    section = root / "04_comparison"
    (section / "tables").mkdir(parents=True)
    nan = math.nan
    pd.DataFrame({"method": ["original", "gradnorm", "det_only"], "seeds": [3, 3, 3],
                  "mAP50": [0.5, 0.61234, 0.7], "mAP50 low": [0.4, 0.6, nan], "mAP50 high": [0.6, 0.62468, nan],
                  "view_accuracy": [0.9, 0.95, nan], "view_accuracy low": [0.85, 0.9, nan],
                  "view_accuracy high": [0.95, 1.02, nan],
                  "delta_m %": [-3.25, 1.5, nan], "delta_m % low": [-5.0, 0.5, nan], "delta_m % high": [-1.5, 2.5, nan]}
                 ).to_csv(section / "tables" / "comparison_numbers.csv", index=False)
    if figure is not None:
        (section / "figures").mkdir()
        (section / "figures" / "pareto.png").write_bytes(figure)
    (root / "provenance.json").write_text(json.dumps(PROV))
    return root


def test_replace_block_replaces_only_the_text_between_the_markers():
    out = readme.replace_block(README, "| a |\n| 1 |\n")
    assert out == README.replace("Not generated yet: run `make report`.", "| a |\n| 1 |")
    assert readme.replace_block(out, "Not generated yet: run `make report`.") == README  # and back


@pytest.mark.parametrize("text, marker", [
    (README.replace(readme.BEGIN, ""), readme.BEGIN),
    (README.replace(readme.END, ""), readme.END),
    (README + readme.BEGIN + "\n", readme.BEGIN),
    (README.replace(readme.BEGIN, "@").replace(readme.END, readme.BEGIN).replace("@", readme.END), readme.END),
])
def test_replace_block_refuses_missing_repeated_or_reversed_markers(text, marker):
    with pytest.raises(readme.ResultsBlockError) as e:
        readme.replace_block(text, "x", "some/README.md")
    assert e.value.marker == marker and str(e.value.path) == "some/README.md"


def test_write_results_renders_the_headline_and_copies_the_figure(tmp_path):
    report = fake_report(tmp_path / "reports" / "default")
    path = tmp_path / "README.md"
    path.write_text(README)
    figure = tmp_path / "docs" / "results" / "headline.png"
    readme.write_results(report, path, figure)
    text = path.read_text()
    head, rest = text.split(readme.BEGIN)
    block, tail = rest.split(readme.END)
    assert head == README.split(readme.BEGIN)[0] and tail == README.split(readme.END)[1]
    lines = block.strip().splitlines()
    assert lines[:5] == ["| method | seeds | mAP@0.5 | view accuracy | Δm% |",
                         "| :-- | --: | --: | --: | --: |",
                         "| original | 3 | 0.500 [0.400, 0.600] | 0.900 [0.850, 0.950] | -3.2 [-5.0, -1.5] |",
                         "| gradnorm | 3 | 0.612 [0.600, 0.625] | 0.950 [0.900, 1.000†] | 1.5 [0.5, 2.5] |",
                         "| det_only | 3 | 0.700 | n/a | n/a |"]
    assert "highest" not in block  # no winner read from means
    assert "](docs/results/headline.png)" in block
    assert "profile `default`, commit `0123456789ab`, 2025-01-02T03:04:05+00:00" in block
    assert figure.read_bytes() == b"\x89PNG fake"


def test_write_results_without_a_figure_links_none(tmp_path):
    report = fake_report(tmp_path / "report", figure=None)
    path = tmp_path / "README.md"
    path.write_text(README)
    readme.write_results(report, path, tmp_path / "fig.png")
    assert "](" not in path.read_text() and not (tmp_path / "fig.png").exists()


def test_write_results_refuses_a_readme_without_markers_and_writes_nothing(tmp_path):
    report = fake_report(tmp_path / "report")
    path = tmp_path / "README.md"
    path.write_text("# no block here\n")
    with pytest.raises(readme.ResultsBlockError) as e:
        readme.write_results(report, path, tmp_path / "fig.png")
    assert e.value.marker == readme.BEGIN and e.value.path == path
    assert path.read_text() == "# no block here\n" and not (tmp_path / "fig.png").exists()


def test_write_results_refuses_a_report_without_the_comparison(tmp_path):
    report = tmp_path / "report"
    report.mkdir()
    (report / "provenance.json").write_text(json.dumps(PROV))
    path = tmp_path / "README.md"
    path.write_text(README)
    with pytest.raises(FileNotFoundError, match="04_comparison"):
        readme.write_results(report, path, tmp_path / "fig.png")
    assert path.read_text() == README


def fake_runner(tmp_path, monkeypatch, profile: str, readme_text: str, builders):
    """run_report with the notebooks faked: one empty notebook whose 'execution' writes what ``builders``
    (e.g. ``fake_report``) put in a report folder; README and figure under ``tmp_path``. Returns the report folder."""
    out = tmp_path / "reports" / profile
    nb = tmp_path / "section.ipynb"
    nbformat.write(nbformat.v4.new_notebook(cells=[nbformat.v4.new_markdown_cell("# Section")]), nb)

    def execute_all(steps, out_dir, timeout, jobs):
        for build in builders:
            build(out_dir).joinpath("provenance.json").unlink()  # the runner writes its own
        return [(nb, 1.0) for _ in steps]

    monkeypatch.setattr(runner, "notebook_parameters", lambda p, only=None: [(nb, {})])
    monkeypatch.setattr(runner, "prefetch", lambda steps, p: (0.0, 1))
    monkeypatch.setattr(runner, "execute_all", execute_all)
    monkeypatch.setattr(runner, "to_html", lambda *a, **k: None)
    monkeypatch.setattr(runner, "report_dir", lambda p, o=None: out)
    monkeypatch.setattr(readme, "README", tmp_path / "README.md")
    monkeypatch.setattr(readme, "FIGURE", tmp_path / "headline.png")
    (tmp_path / "README.md").write_text(readme_text)
    return out


@pytest.mark.parametrize("profile, only, output_dir, writes", [
    ("default", None, False, True),
    ("smoke", None, False, False),
    ("default", ["04"], False, False),
    ("default", None, True, False),
])
def test_the_runner_writes_the_block_only_for_a_whole_default_build(tmp_path, monkeypatch, profile, only,
                                                                    output_dir, writes):
    """run_report with the notebooks faked: each 'executed' notebook is an empty one, the comparison a fake table."""
    out = fake_runner(tmp_path, monkeypatch, profile, README, [fake_report])
    runner.run_report(profile, only=only, output_dir=str(out) if output_dir else None)
    text = (tmp_path / "README.md").read_text()
    assert (text != README) == writes and (tmp_path / "headline.png").exists() == writes
    if writes:
        assert f"profile `{profile}`" in text and "| gradnorm | 3 | 0.612 [0.600, 0.625] |" in text


def test_bench_pages_write_each_table_with_date_and_machine(tmp_path):
    from benchmarks import docs

    csvs = tmp_path / "bench"
    csvs.mkdir()
    df = pd.DataFrame({"vs fixed": [1.0, 1.0781234, math.nan], "images/s": [12345.6, 188.0, 0.00001]},
                      index=pd.Index(["fixed", "gradnorm", "a|b"], name="method"))
    df.to_csv(csvs / "step_costs_cpu.csv")
    pd.DataFrame({"x": [1]}).to_csv(csvs / "old.csv")
    os.utime(csvs / "old.csv", (1000, 1000))  # written by an earlier run: not published
    prov = {"created": "2025-01-02T03:04:05+00:00", "git": {"commit": "abcdef0123456789", "dirty": True},
            "platform": "Linux-x", "processor": "x86_64", "cpu_count": 2, "torch_threads": 2, "cuda": None,
            "packages": {"torch": "2.5.0"}}
    paths = docs.write_pages(docs.tables_written(csvs, since=2000), tmp_path / "docs", prov)
    assert paths == [tmp_path / "docs" / "step_costs_cpu.md"]
    text = paths[0].read_text()
    assert text.splitlines()[0] == "# step_costs_cpu"
    assert ("2025-01-02T03:04:05+00:00, commit `abcdef012345 with uncommitted changes`; Linux-x, x86_64, 2 cores, "
            "2 torch threads; GPU: none; torch 2.5.0") in text
    assert text.endswith("| method | vs fixed | images/s |\n| :-- | --: | --: |\n| fixed | 1 | 12,346 |\n"
                         "| gradnorm | 1.078 | 188 |\n| a\\|b | n/a | 1.00e-05 |\n")


def test_a_tuned_row_is_shown_with_the_setting_that_stands_for_it(tmp_path):
    report = fake_report(tmp_path / "reports" / "default")
    numbers = report / "04_comparison" / "tables" / "comparison_numbers.csv"
    table = pd.read_csv(numbers)
    table.insert(1, "setting", ["original", "gradnorm_a0.5_sgd1", "det_only"])
    table.to_csv(numbers, index=False)
    path = tmp_path / "README.md"
    path.write_text(README)
    readme.write_results(report, path, tmp_path / "headline.png")
    rows = [line.split(" | ")[0] for line in path.read_text().splitlines() if line.startswith("| ")]
    assert rows[2:] == ["| original", "| gradnorm (gradnorm_a0.5_sgd1)", "| det_only"]


ANSWER_README = README.replace("the question\n", "the question\n<!-- answer:begin -->\nNot written yet.\n<!-- answer:end -->\n")


def verdict_report(root):
    """A built full report: provenance.json and a verdicts.json of one interference verdict and one comparison."""
    from lib.report import verdicts as V
    root.mkdir(parents=True, exist_ok=True)
    vs = [V.Verdict("interference", "Interference over {n} seeds.", {"n": 5}, "histories", (0.1, 0.2), 5, True,
                    "established", ""),
          V.Verdict("uw vs static: mAP50", "UW minus static: {d:+.3f}.", {"d": -0.145, "method": "uw"}, "runs",
                    (-0.19, -0.10), 5, False, "withheld", "run not converged")]
    V.write_verdicts(vs, root / "verdicts.json", ["interference", "uw vs static: mAP50"], {"static": 0.3, "uw": 0.36})
    (root / "provenance.json").write_text(json.dumps({**PROV, "profile": "full"}))
    return root


def test_write_answer_puts_the_verdict_sentences_between_the_answer_markers(tmp_path):
    from lib.report import answer_text as T
    report = verdict_report(tmp_path / "full")
    path = tmp_path / "README.md"
    path.write_text(ANSWER_README)
    readme.write_answer(report, path)
    text = path.read_text()
    block = text.split("<!-- answer:begin -->\n")[1].split("\n<!-- answer:end -->")[0]
    assert block.split("\n\n")[:-1] == T.read_answer(report / "verdicts.json")  # the sentences, in order
    assert block.split("\n\n")[0] == "Established: Interference over 5 seeds."
    assert any(p.startswith("Withheld (run not converged): UW minus static: -0.145.") for p in block.split("\n\n"))
    assert block.endswith("Written by `make report PROFILE=full` (profile `full`, commit `0123456789ab`, "
                          "2025-01-02T03:04:05+00:00); every section: `reports/full/index.html`.")
    assert text.replace(block, "Not written yet.") == ANSWER_README  # nothing outside the markers moved
    with pytest.raises(FileNotFoundError, match="verdicts.json"):
        readme.write_answer(tmp_path / "empty", path)
    path.write_text(README)  # no answer markers: refused, nothing written
    with pytest.raises(readme.ResultsBlockError, match="answer:begin"):
        readme.write_answer(report, path)
    assert path.read_text() == README


@pytest.mark.parametrize("profile, writes", [("full", True), ("default", False), ("smoke", False)])
def test_the_runner_writes_the_answer_only_for_a_whole_full_build(tmp_path, monkeypatch, profile, writes):
    fake_runner(tmp_path, monkeypatch, profile, ANSWER_README, [fake_report, verdict_report])
    runner.run_report(profile, only=None)
    text = (tmp_path / "README.md").read_text()
    assert ("Interference over 5 seeds." in text) == writes
    results = text.split("<!-- results:begin -->")[1].split("<!-- results:end -->")[0]
    assert ("| gradnorm |" in results) == (profile == "default")  # the results block stays the default build's

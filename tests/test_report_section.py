"""What a report section writes (lib.report.section): a rebuilt section keeps nothing old; one run by hand
writes to scratch/, never over the published report."""
import pandas as pd

from lib.report.section import Section


def test_a_rebuilt_section_keeps_nothing_from_an_earlier_build(tmp_path):
    Section("00_test", output_dir=str(tmp_path)).table(pd.DataFrame({"a": [1]}), "old_table")
    Section("00_test", output_dir=str(tmp_path)).table(pd.DataFrame({"a": [1]}), "new_table")
    assert sorted(p.name for p in (tmp_path / "00_test" / "tables").iterdir()) == ["new_table.csv"]


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

"""A repository root with a published smoke report (fixture ``repo``), for the report's section and runner tests."""
import pytest


@pytest.fixture
def repo(tmp_path, monkeypatch):
    """A repository root with a published smoke report: ``reports/smoke/04_comparison`` with a table."""
    from lib.report import section

    monkeypatch.setattr(section, "REPO_ROOT", tmp_path)
    published = tmp_path / "reports" / "smoke" / "04_comparison" / "tables" / "comparison_numbers.csv"
    published.parent.mkdir(parents=True)
    published.write_text("published\n")
    return tmp_path

"""A section's context (lib.report.context): bad settings fail before anything is written."""
import pytest


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


def test_a_sections_tables_show_long_sentences_whole(tmp_path, monkeypatch):
    """Section 8's findings table cut its sentences at pandas' 50 characters ("conflicts 0.454...")."""
    import pandas as pd

    from lib.report.context import start

    monkeypatch.setenv("ECHO_MTL_RUNS", str(tmp_path / "runs"))
    monkeypatch.setenv("ECHO_MTL_DATA", str(tmp_path / "data"))
    sentence = "a sentence of the report that is well over fifty characters long, to the end"
    with pd.option_context("display.max_colwidth", 50):
        start("x", profile="smoke", output_dir=str(tmp_path / "out"))
        assert sentence in pd.DataFrame({"s": [sentence]}).to_html()

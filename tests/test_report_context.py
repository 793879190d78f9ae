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

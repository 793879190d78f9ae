import os
import subprocess
import sys
import tempfile
from pathlib import Path

import pytest

# fixtures that several test files share, registered from tests/helpers/ (pytest's plugin mechanism)
pytest_plugins = ["tests.helpers.one_step", "tests.helpers.published_report", "tests.helpers.training",
                  "tests.helpers.inference"]

ROOT = Path(__file__).resolve().parent.parent


def pytest_configure(config):
    """No test writes into the repository's data/ or runs/: both roots point at a session folder."""
    scratch = Path(tempfile.mkdtemp(prefix="echo-mtl-tests-"))
    os.environ["ECHO_MTL_RUNS"] = str(scratch / "runs")
    os.environ["ECHO_MTL_DATA"] = str(scratch / "data")


def run_report(out: Path, env_dir: Path, *args) -> subprocess.CompletedProcess:
    env = {**os.environ, "ECHO_MTL_RUNS": str(env_dir / "runs"), "ECHO_MTL_DATA": str(env_dir / "data")}
    env.pop("MPLBACKEND", None)
    return subprocess.run([sys.executable, "-m", "lib.report", "--profile", "smoke", "--output-dir", str(out), *args],
                          cwd=ROOT, env=env, capture_output=True, text=True, timeout=900)


@pytest.fixture(scope="session")
def smoke_report(tmp_path_factory):
    base = tmp_path_factory.mktemp("smoke")
    out = base / "report"
    proc = run_report(out, base)
    assert proc.returncode == 0, proc.stdout[-3000:] + proc.stderr[-3000:]
    return out, base

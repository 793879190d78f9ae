"""Where the project keeps generated data and trained runs.

Roots are read from the environment *when called*, not at import, so a test
or a long-lived JupyterLab kernel that changes ``ECHO_MTL_DATA`` /
``ECHO_MTL_RUNS`` sees the change.
"""
from __future__ import annotations

import os
from pathlib import Path

REPO_ROOT = Path(__file__).resolve().parents[2]
MANIFEST = "MANIFEST.json"  # written last into a run folder: its presence marks the run complete


def data_root() -> Path:
    """Generated data sets (the synthetic benchmark): ``$ECHO_MTL_DATA`` or ``<repo>/data``."""
    return Path(os.environ.get("ECHO_MTL_DATA") or REPO_ROOT / "data")


def runs_root() -> Path:
    """The run store: ``$ECHO_MTL_RUNS`` or ``<repo>/runs``."""
    return Path(os.environ.get("ECHO_MTL_RUNS") or REPO_ROOT / "runs")


def cache_root() -> Path:
    """Computed tables that are not training runs (e.g. the GradNorm paper toy): beside the runs."""
    return runs_root() / "cache"

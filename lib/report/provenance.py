"""Where a report came from: code version, packages, machine, profile and runs."""
from __future__ import annotations

import platform
import subprocess
from datetime import datetime, timezone
from importlib import metadata

from .profiles import REPO_ROOT

PACKAGES = ("torch", "torchvision", "numpy", "pandas", "matplotlib", "seaborn", "papermill", "nbconvert",
            "torchmetrics", "faster-coco-eval", "pillow", "pyyaml", "tqdm")


def git_state() -> dict:
    def git(*args):
        try:
            return subprocess.run(["git", *args], cwd=REPO_ROOT, capture_output=True, text=True, check=True).stdout.strip()
        except (OSError, subprocess.CalledProcessError):
            return None

    commit = git("rev-parse", "HEAD")
    status = git("status", "--porcelain", "--untracked-files=no")
    return {"commit": commit, "dirty": bool(status) if status is not None else None}


def at_end(start: dict, end: dict) -> dict:
    """The build's git record: ``start`` as it was, or, when the code changed while the report was built (a
    commit or an edit), marked dirty with the state at the end, since its pages may mix two versions."""
    return start if end == start else {**start, "dirty": True, "changed_during_build": end}


def commit_line(prov: dict) -> str:
    """'`abc123def456` (with uncommitted changes), <date>': which code a build ran, from its provenance."""
    git = prov.get("git") or {}
    dirty = " with uncommitted changes" if git.get("dirty") else ""
    return f"commit `{str(git.get('commit') or 'unknown')[:12]}`{dirty}, {prov.get('created', 'date unknown')}"


def package_versions() -> dict:
    out = {}
    for name in PACKAGES:
        try:
            out[name] = metadata.version(name)
        except metadata.PackageNotFoundError:
            out[name] = None
    return out


def collect() -> dict:
    import torch

    return {
        "created": datetime.now(timezone.utc).isoformat(timespec="seconds"),
        "git": git_state(),
        "python": platform.python_version(),
        "platform": platform.platform(),
        "processor": platform.processor() or platform.machine(),
        "torch_threads": torch.get_num_threads(),
        "cuda": torch.cuda.get_device_name(0) if torch.cuda.is_available() else None,
        "packages": package_versions(),
    }

"""Where a report's time goes: seconds per phase, from the runner's clock and the runs it trained.

Wall clock, measured by the runner: the runs of the plan trained before the notebooks
(``lib.report.requests``), each notebook's execution (kernel start included) and the HTML export. Inside the notebooks, every run trained by this report contributes what it measured itself
(``history.csv``/``epochs.csv``): training steps (``step_time`` + ``data_time``), the gradient-interference
measurement, validation evaluation (``eval_time``); and the rest of its process (start-up, data
loading, anchors, BatchNorm recalibration, test evaluation, saving) is its process time
(``.training.json``, written by ``lib.experiments.batch``) less those. Runs train side by side (``jobs``), so these
sums can exceed the wall clock; "wall with a run training" is the union of the runs' intervals, and the
time outside it (kernels, data generation, the paper toy, tables, figures) is the rest.
"""
from __future__ import annotations

import json
from pathlib import Path

import pandas as pd

from ..store.paths import MANIFEST


def completed_runs(root: Path) -> set[str]:
    """Names of the completed run folders under ``root`` (a manifest marks a run complete)."""
    return {p.parent.name for p in root.glob(f"*/{MANIFEST}")} if root.exists() else set()


def _run_phases(run_dir: Path) -> dict[str, float]:
    h = pd.read_csv(run_dir / "history.csv")
    e = pd.read_csv(run_dir / "epochs.csv")
    try:  # written by lib.experiments.batch around the training
        t = json.loads((run_dir / ".training.json").read_text())
        start, end = float(t["started"]), float(t["ended"])
    except (OSError, ValueError, KeyError):  # trained elsewhere (the CLI): its files' times bound it
        start, end = (run_dir / "epochs.csv").stat().st_mtime, (run_dir / MANIFEST).stat().st_mtime
    steps = float(h["step_time"].sum() + h.get("data_time", pd.Series(dtype=float)).sum())
    interference = float(h.get("interference_time", pd.Series(dtype=float)).sum())
    evaluation = float(e.get("eval_time", pd.Series(dtype=float)).sum())
    return {"start": start, "end": end, "steps": steps, "interference": interference, "evaluation": evaluation,
            "process": end - start}


def _union(intervals: list[tuple[float, float]]) -> float:
    total, last_end = 0.0, float("-inf")
    for a, b in sorted(intervals):
        if b > last_end:
            total += b - max(a, last_end)
            last_end = b
    return total


def report_phases(notebook_seconds: float, html_seconds: float, runs_root: Path, trained: set[str],
                  prefetch_seconds: float = 0.0) -> dict:
    """Seconds per phase (see the module docstring), rounded to 0.1 s. ``prefetch_seconds``: the runner's
    training of the planned runs before the first notebook (``lib.report.requests``)."""
    runs = [_run_phases(runs_root / name) for name in sorted(trained)]
    steps = sum(r["steps"] for r in runs)
    interference = sum(r["interference"] for r in runs)
    evaluation = sum(r["evaluation"] for r in runs)
    process = sum(r["process"] for r in runs)
    covered = _union([(r["start"], r["end"]) for r in runs])
    phases = {
        "runs planned and trained before the notebooks (wall)": prefetch_seconds,
        "notebooks (wall)": notebook_seconds,
        "HTML export (wall)": html_seconds,
        "runs trained": len(runs),
        "runs: training steps (sum)": steps,
        "runs: interference measurement (sum)": interference,
        "runs: validation evaluation (sum)": evaluation,
        "runs: start-up, data, BatchNorm recalibration, test evaluation, saving (sum)":
            process - steps - interference - evaluation,
        "runs: process time (sum)": process,
        "wall with a run training": covered,
        "wall with no run training (kernels, data, tables, figures)": prefetch_seconds + notebook_seconds - covered,
    }
    return {k: round(v, 1) if isinstance(v, float) else v for k, v in phases.items()}


def summary(phases: dict) -> str:
    """The phases as aligned lines for the end of a run."""
    width = max(len(k) for k in phases)
    return "\n".join(f"  {k:<{width}}  {v:>8}" + ("" if k == "runs trained" else " s") for k, v in phases.items())

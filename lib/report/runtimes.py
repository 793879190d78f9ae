"""What a report's runs cost and where they trained, read from the run store after a build (``runner``).

Each run folder holds ``metrics.json`` (``train_seconds``: its training, measured by the run) and, when a batch
trained it (``lib.experiments.batch``), ``.training.json``: its process's start and end, executor, host and
devices.
"""
from __future__ import annotations

import json
from pathlib import Path

from ..store.paths import MANIFEST


def completed_runs(root: Path) -> set[str]:
    """Names of the completed run folders under ``root`` (a manifest marks a run complete)."""
    return {p.parent.name for p in root.glob(f"*/{MANIFEST}")} if root.exists() else set()


def training_seconds(root: Path, names: set[str]) -> float:
    """The runs' training time: seconds from start to end of each run's training process
    (``.training.json``, written by ``lib.experiments.batch``), summed; a run trained elsewhere counts 0."""
    total = 0.0
    for name in names:
        try:
            t = json.loads((root / name / ".training.json").read_text())
            total += float(t["ended"]) - float(t["started"])
        except (OSError, ValueError, KeyError):
            pass
    return round(total, 1)


def training_places(root: Path, names: set[str]) -> list[dict]:
    """Where the runs ``names`` trained (``.training.json``, written by ``lib.experiments.batch``): one row per
    executor, host and devices, with the number of runs and the median and longest training seconds per run;
    runs without a record (trained by hand) in a row of their own, executor ``unrecorded``."""
    import statistics

    groups: dict[tuple, list[float]] = {}
    for name in sorted(names):
        try:
            t = json.loads((root / name / ".training.json").read_text())
            where = (str(t.get("executor", "local")), str(t.get("host", "?")), str(t.get("devices", "?")))
            seconds = float(t["ended"]) - float(t["started"])
        except (OSError, ValueError, KeyError, TypeError):
            where, seconds = ("unrecorded", "?", "?"), None
        groups.setdefault(where, []).append(seconds)
    rows = []
    for (executor, host, devices), secs in groups.items():
        timed = [s for s in secs if s is not None]
        rows.append({"executor": executor, "host": host, "devices": devices, "runs": len(secs),
                     "median_seconds": round(statistics.median(timed), 1) if timed else None,
                     "max_seconds": round(max(timed), 1) if timed else None})
    return rows


def runs_train_seconds(root: Path, names: set[str]) -> float:
    """What the runs behind a report cost: their ``train_seconds`` (each run's training, measured by the run
    itself, however long ago it trained), summed."""
    total = 0.0
    for name in names:
        try:
            total += float(json.loads((root / name / "metrics.json").read_text())["train_seconds"])
        except (OSError, ValueError, KeyError, TypeError):
            pass
    return round(total, 1)


def trained_by(root: Path, names: set[str], build: str) -> set[str]:
    """Of the runs ``names``, those whose ``.training.json`` names ``build``: what one report build trained,
    not runs another process put in the same store meanwhile."""
    out = set()
    for name in names:
        try:
            if json.loads((root / name / ".training.json").read_text()).get("build") == build:
                out.add(name)
        except (OSError, ValueError, AttributeError):
            pass
    return out

"""Shared pieces of the benchmarks: a fixed batch, step timing, alternating repeats, output."""
from __future__ import annotations

import json
import statistics
import time
from pathlib import Path

import pandas as pd
import torch

from lib.store.paths import REPO_ROOT

OUT = REPO_ROOT / "reports" / "bench"


def timed(fn, warmup: int = 2, iters: int = 8, sync=None) -> float:
    """Median seconds of ``fn()`` over ``iters`` calls after ``warmup`` calls."""
    for _ in range(warmup):
        fn()
    times = []
    for _ in range(iters):
        if sync:
            sync()
        t0 = time.perf_counter()
        fn()
        if sync:
            sync()
        times.append(time.perf_counter() - t0)
    return statistics.median(times)


def alternate(contenders: dict, rounds: int = 5, **kw) -> dict[str, list[float]]:
    """Time every contender once per round, in turn, so machine noise hits all of them alike."""
    out = {k: [] for k in contenders}
    for _ in range(rounds):
        for name, fn in contenders.items():
            out[name].append(timed(fn, **kw))
    return out


def write(name: str, df: pd.DataFrame) -> pd.DataFrame:
    OUT.mkdir(parents=True, exist_ok=True)
    df.to_csv(OUT / f"{name}.csv", float_format="%.6g")
    print(f"\n## {name}\n")
    print(df.to_string(float_format=lambda v: f"{v:.4g}"))
    return df


def write_summary(summary: dict) -> Path:
    OUT.mkdir(parents=True, exist_ok=True)
    path = OUT / "summary.json"
    path.write_text(json.dumps(summary, indent=2, sort_keys=True))
    return path


def cuda_sync(device: torch.device):
    return torch.cuda.synchronize if device.type == "cuda" else None

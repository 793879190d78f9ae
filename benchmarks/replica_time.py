"""The upstream report's 50-step toy run, timed, next to the upstream report's 0.25 s (a laptop CPU, its own rule)."""
from __future__ import annotations

import statistics

import pandas as pd

from lib.report.claims import upstream_claims
from lib.upstream.replica import ReplicaConfig, run_replica

from .common import write


def run(repeats: int = 5):
    rows = {}
    for rule in ("upstream", "gradnorm", "fixed"):
        times = [run_replica(rule, ReplicaConfig()).seconds for _ in range(repeats)]
        rows[rule] = {"median (s)": statistics.median(times), "min (s)": min(times)}
    df = pd.DataFrame(rows).T
    df["upstream report (s)"] = upstream_claims()["gradnorm_core"]["training_seconds"]
    write("upstream_replica_time", df)
    return df

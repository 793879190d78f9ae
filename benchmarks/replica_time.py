"""The seed's 50-step toy run, timed, next to the seed's 0.25 s (a laptop CPU, its own rule)."""
from __future__ import annotations

import statistics

import pandas as pd

from lib.report.claims import seed_claims
from lib.seed_replica import ReplicaConfig, run_replica

from .common import write


def run(repeats: int = 5):
    rows = {}
    for rule in ("seed", "gradnorm", "fixed"):
        times = [run_replica(rule, ReplicaConfig()).seconds for _ in range(repeats)]
        rows[rule] = {"median (s)": statistics.median(times), "min (s)": min(times)}
    df = pd.DataFrame(rows).T
    df["seed report (s)"] = seed_claims()["gradnorm_core"]["training_seconds"]
    write("seed_replica_time", df)
    return df

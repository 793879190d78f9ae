"""How a report scales with workers: measured here with 1 and 2 local workers, and calculated for N.

    python -m benchmarks.scaling                        # the smoke report, cold, with 1 and 2 workers
    python -m benchmarks.scaling --profile default      # the default report (about 35 minutes for both)
    python -m benchmarks.scaling --from-report full     # the calculation for N workers from a built report

Measured: the whole report built cold (fresh run store and data folder) with ``--jobs`` 1 and 2: runs and
notebooks that many side by side (one thread per run, as the profiles set), wall seconds each.

Calculated: a built report's runs, each with its measured training seconds (``.training.json``), fall into
waves (the runs before the notebooks, then those a notebook asks for after reading earlier ones: a wave ends
when no run is training). Each wave is scheduled longest first on N workers (the batch's own order; each
worker as fast as one of this machine's run slots), and the report's time outside training (notebooks, HTML)
is added as measured. That is the wall time N machines or GPUs would give, if each trained a run as fast as
here; it ignores queueing on a cluster and the time to start a job.
"""
from __future__ import annotations

import argparse
import heapq
import json
import os
import tempfile
import time
from pathlib import Path

import pandas as pd

from .common import OUT, write

WORKERS = (1, 2, 4, 8, 16, 32, 64)


def measure(profile: str = "smoke", jobs_list=(1, 2)) -> pd.DataFrame:
    """Wall seconds of ``python -m lib.report --profile PROFILE --jobs J`` built cold (a fresh run store and data
    folder, the report written to a temporary folder) for each J in ``jobs_list``."""
    import subprocess
    import sys

    from lib.store.paths import REPO_ROOT

    rows = []
    for jobs in jobs_list:
        with tempfile.TemporaryDirectory(prefix="scaling-") as tmp:
            env = {**os.environ, "ECHO_MTL_RUNS": f"{tmp}/runs", "ECHO_MTL_DATA": f"{tmp}/data"}
            cmd = [sys.executable, "-m", "lib.report", "--profile", profile, "--jobs", str(jobs),
                   "--output-dir", f"{tmp}/report"]
            t0 = time.perf_counter()
            done = subprocess.run(cmd, cwd=REPO_ROOT, env=env, capture_output=True, text=True)
            wall = time.perf_counter() - t0
            if done.returncode != 0:
                raise RuntimeError(f"{' '.join(cmd)} failed:\n{done.stderr[-2000:]}")
            prov = json.loads((Path(tmp) / "report" / "provenance.json").read_text())
        rows.append({"profile": profile, "workers": jobs, "runs trained": prov["runs_trained"],
                     "training before the notebooks (s)": prov["wall_seconds"]["runs before the notebooks"],
                     "report wall (s)": round(wall, 1)})
    df = pd.DataFrame(rows).set_index("workers")
    df["speed-up vs 1"] = (df.loc[min(jobs_list), "report wall (s)"] / df["report wall (s)"]).round(2)
    return df


def waves(intervals: list[tuple[float, float]]) -> list[list[tuple[float, float]]]:
    """Runs' (start, end) grouped into waves: a new wave starts at a moment when no run was training."""
    out, end = [], None
    for start, stop in sorted(intervals):
        if end is None or start >= end:
            out.append([])
        out[-1].append((start, stop))
        end = stop if end is None else max(end, stop)
    return out


def makespan(seconds: list[float], workers: int) -> float:
    """Wall seconds of ``seconds`` scheduled longest first, each on the first free of ``workers``."""
    free = [0.0] * workers
    for s in sorted(seconds, reverse=True):
        heapq.heapreplace(free, free[0] + s)
    return max(free)


def calculate(report: str, workers=WORKERS, provenance: str | Path | None = None) -> pd.DataFrame:
    """The calculated wall time of ``reports/<report>`` with N workers, from its runs' measured seconds.
    ``provenance``: the ``provenance.json`` of the build that trained them (default: the report's own). Raises
    ``SystemExit`` naming the file when that build trained no run (a warm rebuild's time says nothing)."""
    from lib.store.runs import RunStore

    path = Path(provenance) if provenance else OUT.parent / report / "provenance.json"
    prov = json.loads(path.read_text())
    if not prov.get("runs_trained"):
        raise SystemExit(f"{path}: that build trained no run (a warm rebuild); give the cold build's "
                         "provenance.json with --provenance")
    names = {k for nb in prov["notebooks"].values() for keys in nb.get("sources", {}).values() for k in keys}
    root, intervals = RunStore().root, []
    for name in names:
        try:
            t = json.loads((root / name / ".training.json").read_text())
            intervals.append((float(t["started"]), float(t["ended"])))
        except (OSError, ValueError, KeyError):
            pass
    if not intervals:
        raise SystemExit(f"no run of reports/{report} has a .training.json under {root} (set ECHO_MTL_RUNS)")
    groups = [[e - s for s, e in wave] for wave in waves(intervals)]
    spans = sum(max(e for _, e in wave) - min(s for s, _ in wave) for wave in waves(intervals))
    outside = max(float(prov["seconds"]) - spans, 0.0)
    rows = []
    for n in workers:
        train = sum(makespan(g, n) for g in groups)
        rows.append({"report": report, "workers": n, "runs": len(intervals), "waves": len(groups),
                     "training wall (s)": round(train), "outside training (s)": round(outside),
                     "calculated wall (min)": round((train + outside) / 60, 1),
                     "measured wall of the build (min)": round(float(prov["seconds"]) / 60, 1)})
    df = pd.DataFrame(rows).set_index("workers")
    df["speed-up vs 1"] = (df.loc[workers[0], "calculated wall (min)"] / df["calculated wall (min)"]).round(2)
    df.attrs["measured wall (min)"] = round(float(prov["seconds"]) / 60, 1)
    df.attrs["training seconds"] = round(sum(e - s for s, e in intervals))
    return df


def run(profile: str = "smoke", report: str | None = None, provenance: str | None = None) -> dict:
    measured = measure(profile)
    write("scaling_measured", measured)
    out = {"measured": measured}
    if report is not None:
        calc = calculate(report, provenance=provenance)
        write(f"scaling_{report}", calc)
        print(f"reports/{report}: measured wall {calc.attrs['measured wall (min)']} min; "
              f"{calc.attrs['training seconds']} s of training over {int(calc['runs'].iloc[0])} runs")
        out["calculated"] = calc
    return out


def main() -> None:
    from . import docs

    p = argparse.ArgumentParser(prog="python -m benchmarks.scaling", description=__doc__.split("\n")[0])
    p.add_argument("--profile", default="smoke", help="the report to build cold with 1 and 2 workers")
    p.add_argument("--from-report", default=None, help="a built report (e.g. full) to calculate N workers from")
    p.add_argument("--provenance", default=None,
                   help="provenance.json of the build that trained the report's runs (default: the report's)")
    p.add_argument("--no-measure", action="store_true", help="only the calculation")
    args = p.parse_args()
    started = time.time()
    if args.no_measure:
        if args.from_report is None:
            p.error("--no-measure needs --from-report")
        write(f"scaling_{args.from_report}", calculate(args.from_report, provenance=args.provenance))
    else:
        run(args.profile, args.from_report, args.provenance)
    print(f"pages written: {docs.write_pages(docs.tables_written(OUT, since=started))}")


if __name__ == "__main__":
    main()

"""Two processes of one thread against one process of two threads, on the 2-core CPU: images per second of the
training step, and GradNorm's overhead over Fixed under each (``make bench`` rows).

    python -m benchmarks.ddp_throughput

Each setup is a fresh launch of ``python -m benchmarks.ddp_throughput --worker`` (under ``torchrun
--standalone --nproc_per_node 2`` for the two-process setup): the report's default step (scale p, 128 px, a
global batch of 16; 8 images per rank with two processes), ``Trainer.train_step`` on a fixed batch, median of
the timed steps after warm-up, measured on rank 0 (its step includes the gradient all-reduce). Launches
alternate between setups and methods for ``rounds`` rounds, so the machine's drift hits all alike.
"""
from __future__ import annotations

import argparse
import json
import os
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import pandas as pd

from .common import write

SETUPS = {"1 process x 2 threads": (1, 2), "2 processes x 1 thread": (2, 1)}
WEIGHTINGS = ("fixed", "gradnorm")


def worker(weighting: str, threads: int, out: str, warmup: int, steps: int) -> None:
    import torch

    from lib.config import TrainConfig
    from lib.engine.distributed import barrier, init_from_env, shutdown
    from lib.engine.trainer import Trainer

    w = init_from_env("cpu")
    cfg = TrainConfig(weighting=weighting, threads=threads, device="cpu", interference_every=0, batch_size=16,
                      imgsz=128, max_train_images=64)
    trainer = Trainer(cfg, progress=False)
    batch = next(iter(trainer._loader(0)))
    trainer.model.train()
    torch.set_num_threads(threads)
    for _ in range(warmup):
        trainer.train_step(batch, 0)
    times = []
    for _ in range(steps):
        t0 = time.perf_counter()
        trainer.train_step(batch, 0)
        times.append(time.perf_counter() - t0)
    if w.main:
        Path(out).write_text(json.dumps({"median_step_s": statistics.median(times), "processes": w.size,
                                         "global_batch": cfg.batch_size}))
    barrier()
    shutdown()


def launch(processes: int, threads: int, weighting: str, warmup: int, steps: int) -> float:
    with tempfile.TemporaryDirectory() as tmp:
        out = Path(tmp) / "result.json"
        args = ["-m", "benchmarks.ddp_throughput", "--worker", "--weighting", weighting, "--threads", str(threads),
                "--out", str(out), "--warmup", str(warmup), "--steps", str(steps)]
        launcher = [sys.executable] if processes == 1 else [
            sys.executable, "-m", "torch.distributed.run", "--standalone", "--nproc_per_node", str(processes)]
        env = {**os.environ, "OMP_NUM_THREADS": str(threads)}
        subprocess.run(launcher + args, check=True, env=env, capture_output=True)
        return json.loads(out.read_text())["median_step_s"]


def run(rounds: int = 3, warmup: int = 3, steps: int = 12) -> pd.DataFrame:
    times = {(s, w): [] for s in SETUPS for w in WEIGHTINGS}
    for _ in range(rounds):
        for (setup, weighting) in times:
            times[(setup, weighting)].append(launch(*SETUPS[setup], weighting, warmup, steps))
    rows = []
    for (setup, weighting), ts in times.items():
        med = statistics.median(ts)
        rows.append({"setup": setup, "weighting": weighting, "median step (ms)": 1000 * med,
                     "images/s": 16 / med})
    df = pd.DataFrame(rows).set_index(["setup", "weighting"])
    for setup in SETUPS:
        df.loc[(setup, "gradnorm"), "GradNorm / Fixed"] = (df.loc[(setup, "gradnorm"), "median step (ms)"]
                                                          / df.loc[(setup, "fixed"), "median step (ms)"])
    base = df.loc[("1 process x 2 threads", "fixed"), "images/s"]
    df["images/s vs 1 process x 2 threads (fixed)"] = df["images/s"] / base
    df.index.names = [f"CPU, 2 cores; scale p, 128 px, global batch 16; median of {rounds} launches", "weighting"]
    return write("ddp_throughput_cpu", df)


def main(argv=None) -> None:
    p = argparse.ArgumentParser(prog="python -m benchmarks.ddp_throughput")
    p.add_argument("--worker", action="store_true")
    p.add_argument("--weighting", default="fixed")
    p.add_argument("--threads", type=int, default=1)
    p.add_argument("--out", default="")
    p.add_argument("--warmup", type=int, default=3)
    p.add_argument("--steps", type=int, default=12)
    p.add_argument("--rounds", type=int, default=3)
    args = p.parse_args(argv)
    if args.worker:
        worker(args.weighting, args.threads, args.out, args.warmup, args.steps)
    else:
        run(rounds=args.rounds, warmup=args.warmup, steps=args.steps)


if __name__ == "__main__":
    main()

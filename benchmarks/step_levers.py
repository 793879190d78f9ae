"""Where a training step's time goes, and what the CPU levers buy: channels_last, bf16 autocast, both.

For each image size and weighting, the same ``Trainer.train_step`` on one fixed batch is timed with each
lever (contenders alternate, several rounds, medians: ``common.alternate``). The FLOPs of one fp32 step
of the model with fixed weights (forward and backward) are counted with
``torch.utils.flop_counter.FlopCounterMode`` (its module hooks cannot run inside GradNorm's
``autograd.grad`` at the trunk/head boundary, so every weighting is rated against the model's own
work); achieved GFLOP/s is that count over the median step time, and "share of fp32 peak" divides it by the cores' fp32 peak:
threads x clock x FLOP per cycle, with the clock read from ``/proc/cpuinfo`` and 64 FLOP per cycle
per core where the CPU has AVX-512 (two 16-lane FMA units) or 32 with AVX2 (an assumption about the
core, said in the table's name). A lever is applied around the step here, not inside the trainer:
bf16 changes numerics, so it is a measurement until a 3-seed comparison shows it agrees with fp32.

``top_ops``: ``torch.profiler`` self-CPU time of the fp32 step by operator, the largest first.
"""
from __future__ import annotations

import contextlib
import re
from pathlib import Path

import pandas as pd
import torch
from torch.utils.flop_counter import FlopCounterMode

from lib.config import TrainConfig
from lib.engine.trainer import Trainer

from .common import alternate, write

LEVERS = ("fp32", "fp32 + channels_last", "bf16", "bf16 + channels_last")


def peak_gflops(threads: int) -> tuple[float, str]:
    """(fp32 peak GFLOP/s of ``threads`` cores, how it was derived)."""
    text = Path("/proc/cpuinfo").read_text() if Path("/proc/cpuinfo").exists() else ""
    mhz = [float(m) for m in re.findall(r"cpu MHz\s*:\s*([\d.]+)", text)]
    flags = set(re.search(r"flags\s*:\s*(.*)", text).group(1).split()) if "flags" in text else set()
    per_cycle = 64 if "avx512f" in flags else 32 if "avx2" in flags else 8
    ghz = max(mhz) / 1000 if mhz else float("nan")
    return threads * ghz * per_cycle, f"{threads} cores x {ghz:.2f} GHz x {per_cycle} FLOP/cycle"


def _step(cfg: TrainConfig, lever: str):
    trainer = Trainer(cfg, progress=False)
    batch = next(iter(trainer._loader(0)))
    trainer.model.train()
    if "channels_last" in lever:
        trainer.model.to(memory_format=torch.channels_last)
        batch = batch._replace(images=batch.images.contiguous(memory_format=torch.channels_last))
    autocast = (lambda: torch.autocast("cpu", dtype=torch.bfloat16)) if lever.startswith("bf16") \
        else contextlib.nullcontext

    def step():
        with autocast():
            trainer.train_step(batch, 0)
    return step, trainer, batch


def step_flops(cfg: TrainConfig) -> int:
    step, _, _ = _step(cfg, "fp32")
    step()  # warm (anchors, first-call work) outside the count
    with FlopCounterMode(display=False) as counter:
        step()
    return counter.get_total_flops()


def top_ops(cfg: TrainConfig, n: int = 12) -> pd.DataFrame:
    step, _, _ = _step(cfg, "fp32")
    for _ in range(2):
        step()
    with torch.profiler.profile(activities=[torch.profiler.ProfilerActivity.CPU]) as prof:
        for _ in range(3):
            step()
    rows = [{"operator": e.key, "self CPU ms per step": e.self_cpu_time_total / 1000 / 3, "calls per step": e.count / 3}
            for e in prof.key_averages()]
    df = pd.DataFrame(rows).sort_values("self CPU ms per step", ascending=False)
    total = df["self CPU ms per step"].sum()
    df["share"] = df["self CPU ms per step"] / total
    return df.head(n).set_index("operator")


# every balancing method of the report's comparison (the dual and detached models cost as in step_costs)
WEIGHTINGS = ("fixed", "gradnorm", "uw", "dwa", "pcgrad", "cagrad", "famo")


def run(weightings=WEIGHTINGS, sizes=(128, 320), batch_size: int = 16, rounds: int = 5,
        iters: int = 6) -> tuple[pd.DataFrame, pd.DataFrame]:
    threads = torch.get_num_threads()
    peak, how = peak_gflops(threads)
    rows = []
    for size in sizes:
        flops = step_flops(TrainConfig(batch_size=batch_size, imgsz=size, interference_every=0, device="cpu"))
        for w in weightings:
            cfg = TrainConfig(batch_size=batch_size, imgsz=size, interference_every=0, weighting=w, device="cpu")
            fns = {lever: _step(cfg, lever)[0] for lever in LEVERS}
            failed = {}
            for lever, fn in list(fns.items()):
                try:
                    fn()
                except RuntimeError as e:  # a lever this torch build cannot run on this CPU
                    failed[lever] = str(e).splitlines()[0]
                    del fns[lever]
            times = alternate(fns, rounds=rounds, iters=iters)
            base = sorted(times["fp32"])[rounds // 2]
            for lever in LEVERS:
                if lever in failed:
                    rows.append({"imgsz": size, "weighting": w, "lever": lever, "note": failed[lever]})
                    continue
                med = sorted(times[lever])[rounds // 2]
                rows.append({"imgsz": size, "weighting": w, "lever": lever, "median step (ms)": 1000 * med,
                             "speed-up vs fp32": base / med, "model GFLOP per step (fp32, fixed)": flops / 1e9,
                             "GFLOP/s": flops / med / 1e9, "share of fp32 peak": flops / med / 1e9 / peak})
    df = pd.DataFrame(rows).set_index(["imgsz", "weighting", "lever"])
    df.index.name = f"batch {batch_size}, {threads} threads; fp32 peak {peak:.0f} GFLOP/s = {how}"
    ops = top_ops(TrainConfig(batch_size=batch_size, imgsz=sizes[0], interference_every=0, device="cpu"))
    ops.index.name = f"fp32 step, fixed, {sizes[0]} px: self CPU time by operator"
    return write("step_levers_cpu", df), write("step_top_ops_cpu", ops)

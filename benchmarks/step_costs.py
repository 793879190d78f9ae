"""Time per training step of every model x weighting on one fixed batch, relative to ``Fixed``.

GradNorm's target: at most 1.15x Fixed. Beside it, ``gradnorm_all_shared``: the same GradNorm but with
gradient norms over *all* shared parameters, one extra backward per task through the backbone (how
general MTL libraries such as LibMTL compute them), so the saving of measuring on the last shared
layer is a number. Contenders are timed in turn, several rounds; medians. ``fixed_control`` repeats
``Fixed`` in a second trainer: how far its ratio strays from 1 is the noise floor of every other ratio.
"""
from __future__ import annotations

import torch

from lib.config import TrainConfig
from lib.engine.trainer import Trainer

from .common import alternate, cuda_sync, write

CONTENDERS = {
    "fixed": dict(weighting="fixed"),
    # a second, separately built Fixed trainer: identical work, so its ratio is the measurement's noise
    "fixed_control": dict(weighting="fixed"),
    "gradnorm": dict(weighting="gradnorm"),
    "gradnorm_all_shared": dict(weighting="gradnorm", weighting_options={"layer": "all_shared"}),
    "equal": dict(weighting="equal"),
    "uw": dict(weighting="uw"),
    "dwa": dict(weighting="dwa"),
    "pcgrad": dict(weighting="pcgrad"),
    "cagrad": dict(weighting="cagrad"),
    "famo": dict(weighting="famo"),
    "detached": dict(model="detached", weighting="equal"),
    "dual": dict(model="dual", weighting="equal"),
}


def step_function(cfg: TrainConfig):
    trainer = Trainer(cfg, progress=False)
    batch = next(iter(trainer._loader(0)))
    trainer.model.train()
    return lambda: trainer.train_step(batch, 0), trainer.device


def run(names=None, batch_size: int = 16, imgsz: int = 128, rounds: int = 9, iters: int = 12, device: str = "auto"):
    names = names or list(CONTENDERS)
    base = TrainConfig(batch_size=batch_size, imgsz=imgsz, interference_every=0, grad_clip=10.0, device=device)
    fns = {}
    for n in names:
        fns[n], dev = step_function(base.replace(**CONTENDERS[n]))
    times = alternate(fns, rounds=rounds, iters=iters, sync=cuda_sync(dev))
    import pandas as pd

    med = {n: sorted(t)[len(t) // 2] for n, t in times.items()}
    df = pd.DataFrame({"median step (s)": med})
    df["vs fixed"] = df["median step (s)"] / med["fixed"]
    # ratio per round (contenders alternate), then its median: robust to slow drifts of the machine
    df["vs fixed, per-round median"] = [sorted(a / b for a, b in zip(times[n], times["fixed"]))[rounds // 2] for n in df.index]
    df.index.name = f"step, batch {batch_size}, {imgsz} px, {dev}, {torch.get_num_threads()} threads"
    return write(f"step_costs_{dev.type}", df)

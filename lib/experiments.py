"""The report's experiments as data: named methods, and the runs a section needs.

A *method* is a partial ``TrainConfig`` (model, task, weighting and its
options). ``configs(base, methods, seeds)`` expands methods x seeds into full
configurations; ``fetch`` gets each from the run store, training what is
missing (each in its own process). Notebooks only name methods.
"""
from __future__ import annotations

import sys
import time
from typing import Iterable

from .config import TrainConfig

# Labels are what tables and figures show. "original" is upstream's shared
# YOLOv5WithClassification with its fixed weights (detection 1.0, classification 0.01).
METHODS: dict[str, dict] = {
    "original": dict(model="shared", weighting="fixed", weighting_options={"weights": [1.0, 0.01]}),
    "equal": dict(model="shared", weighting="equal"),
    "gradnorm": dict(model="shared", weighting="gradnorm", weighting_options={"alpha": 1.5}),
    "uw": dict(model="shared", weighting="uw"),
    "dwa": dict(model="shared", weighting="dwa"),
    "pcgrad": dict(model="shared", weighting="pcgrad"),
    "cagrad": dict(model="shared", weighting="cagrad"),
    "famo": dict(model="shared", weighting="famo"),
    "detached": dict(model="detached", weighting="equal"),
    "dual": dict(model="dual", weighting="equal"),
    "det_only": dict(model="shared", task="det", weighting="fixed", weighting_options={"weights": [1.0]}),
    "cls_only": dict(model="shared", task="cls", weighting="fixed", weighting_options={"weights": [1.0]}),
}
SINGLE_TASK = ("det_only", "cls_only")


def static_method(cls_weight: float) -> dict:
    """Fixed weights with detection 1 and the given classification weight (the hand-tuned grid)."""
    return dict(model="shared", weighting="fixed", weighting_options={"weights": [1.0, float(cls_weight)]})


def gradnorm_method(alpha: float) -> dict:
    return dict(model="shared", weighting="gradnorm", weighting_options={"alpha": float(alpha)})


def method(name: str) -> dict:
    """A method by label: a name from ``METHODS``, ``static_<w>`` or ``gradnorm_a<alpha>``."""
    if name in METHODS:
        return METHODS[name]
    if name.startswith("static_"):
        return static_method(float(name.removeprefix("static_")))
    if name.startswith("gradnorm_a"):
        return gradnorm_method(float(name.removeprefix("gradnorm_a")))
    raise ValueError(f"unknown method {name!r}; choose from {sorted(METHODS)}, static_<w>, gradnorm_a<alpha>")


def configs(base: TrainConfig, methods: Iterable[str], seeds: Iterable[int]) -> dict[tuple[str, int], TrainConfig]:
    return {(m, s): base.replace(**method(m), seed=int(s)) for m in methods for s in seeds}


def fetch(cfgs: dict, store=None, progress: bool = True) -> dict:
    """Runs for every configuration (same keys), training the missing ones one after another."""
    from .runstore import RunStore

    store = store or RunStore()
    out = {}
    missing = [k for k, c in cfgs.items() if store.get(c) is None]
    for i, (k, c) in enumerate(cfgs.items()):
        if k in missing:
            n = missing.index(k) + 1
            print(f"training {n}/{len(missing)}: {k} ({c.model}/{c.weighting}/{c.task}, {c.epochs} epochs)",
                  file=sys.stderr, flush=True)
            t0 = time.perf_counter()
            out[k] = store.get_or_train(c, progress=progress)
            print(f"  done in {time.perf_counter() - t0:.0f} s", file=sys.stderr, flush=True)
        else:
            out[k] = store.get_or_train(c)
    return out

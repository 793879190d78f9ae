"""The report's experiments as data: named methods, and the runs a section needs.

A *method* is a partial ``TrainConfig`` (model, task, weighting and its
options). ``configs(base, methods, seeds)`` expands methods x seeds into full
configurations; ``fetch`` gets each from the run store, training what is
missing (each in its own process). Notebooks only name methods.
"""
from __future__ import annotations

import re
import sys
import time
from typing import Iterable

from ..config import TrainConfig

# Labels are what tables and figures show. "original" is upstream's shared
# YOLOv5WithClassification with its fixed weights (detection 1.0, classification 0.01).
METHODS: dict[str, dict] = {
    "original": dict(model="shared", weighting="fixed", weighting_options={"weights": [1.0, 0.01]}),
    # equal weights as fixed (1, 1), so the static grid's w_view = 1 is the same run
    "equal": dict(model="shared", weighting="fixed", weighting_options={"weights": [1.0, 1.0]}),
    "gradnorm": dict(model="shared", weighting="gradnorm", weighting_options={"alpha": 1.5}),
    "uw": dict(model="shared", weighting="uw"),
    "dwa": dict(model="shared", weighting="dwa"),
    "pcgrad": dict(model="shared", weighting="pcgrad"),
    "cagrad": dict(model="shared", weighting="cagrad"),
    "famo": dict(model="shared", weighting="famo"),
    "detached": dict(model="detached", weighting="fixed", weighting_options={"weights": [1.0, 1.0]}),
    "dual": dict(model="dual", weighting="fixed", weighting_options={"weights": [1.0, 1.0]}),
    "det_only": dict(model="shared", task="det", weighting="fixed", weighting_options={"weights": [1.0]}),
    "view_only": dict(model="shared", task="view", weighting="fixed", weighting_options={"weights": [1.0]}),
    # upstream's flawed rule on the real task (findings: the weight-collapse case)
    "upstream_rule": dict(model="shared", weighting="upstream_rule"),
}
SINGLE_TASK = ("det_only", "view_only")


def static_method(view_weight: float) -> dict:
    """Fixed weights with detection 1 and the given classification weight (the hand-tuned grid)."""
    return dict(model="shared", weighting="fixed", weighting_options={"weights": [1.0, float(view_weight)]})


def gradnorm_method(alpha: float, optimizer: str | None = None, lr: float | None = None) -> dict:
    """GradNorm with ``alpha``, and the optimizer and learning rate of its weights when given
    (else GradNorm's defaults)."""
    options = {"alpha": float(alpha)}
    if optimizer is not None:
        options.update(optimizer=optimizer, lr=float(lr))
    return dict(model="shared", weighting="gradnorm", weighting_options=options)


def gradnorm_label(alpha: float, optimizer: str | None = None, lr: float | None = None) -> str:
    """``gradnorm_a1.5`` or ``gradnorm_a1.5_sgd0.1``: the label ``method`` reads back."""
    return f"gradnorm_a{alpha:g}" + (f"_{optimizer}{lr:g}" if optimizer is not None else "")


_GRADNORM = re.compile(r"gradnorm_a(?P<alpha>[0-9.e+-]+?)(?:_(?P<opt>adam|sgd)(?P<lr>[0-9.e+-]+))?")


def method(name: str) -> dict:
    """A method by label: a name from ``METHODS``, ``static_<w>``, ``gradnorm_a<alpha>`` or
    ``gradnorm_a<alpha>_<adam|sgd><lr>``."""
    if name in METHODS:
        return METHODS[name]
    try:
        if name.startswith("static_"):
            return static_method(float(name.removeprefix("static_")))
        m = _GRADNORM.fullmatch(name)
        if m is not None:
            return gradnorm_method(float(m["alpha"]), m["opt"], None if m["lr"] is None else float(m["lr"]))
    except ValueError:
        pass
    raise ValueError(f"unknown method {name!r}; choose from {sorted(METHODS)}, static_<w>, gradnorm_a<alpha>, "
                     f"gradnorm_a<alpha>_<adam|sgd><lr>")


def configs(base: TrainConfig, methods: Iterable[str], seeds: Iterable[int]) -> dict[tuple[str, int], TrainConfig]:
    return {(m, s): base.replace(**method(m), seed=int(s)) for m in methods for s in seeds}


def record_training(run_dir, started: float, ended: float) -> None:
    """When a run's training process started and ended (epoch seconds), beside the run: ``.training.json``
    (a dot file, outside the run's manifest), read by the report's phase profile (``lib.report.phases``)."""
    import json
    from pathlib import Path

    (Path(run_dir) / ".training.json").write_text(json.dumps({"started": started, "ended": ended}))


# Methods that take one backward pass per task through the shared layers (a step costs about a pass more).
PER_TASK_BACKWARD = ("pcgrad", "cagrad")


def longest_first(cfg: TrainConfig) -> tuple:
    """Sort key putting the runs that take longest first, so runs side by side finish close together: two
    networks or a backward pass per task, then two tasks before one, then more epochs, then larger images."""
    heavy = cfg.model == "dual" or cfg.weighting in PER_TASK_BACKWARD
    return (not heavy, cfg.task != "both", -cfg.epochs, -cfg.imgsz)


def fetch(cfgs: dict, store=None, jobs: int = 1) -> dict:
    """Runs for every configuration (same keys), training the missing ones, ``jobs`` at a time.

    Each run trains in its own process (``RunStore.get_or_train(isolate=True)``; a script that calls this
    needs Python's ``if __name__ == "__main__":`` guard). With jobs > 1 give each run one thread
    (``TrainConfig.threads``): on a small CPU two one-thread runs side by side train faster than one
    two-thread run. Missing runs start longest first (``longest_first``).
    """
    from concurrent.futures import ThreadPoolExecutor, as_completed

    from tqdm import tqdm

    from ..store.runs import RunStore

    store = store or RunStore()
    out = {k: store.get(c) for k, c in cfgs.items()}
    # one training per distinct configuration: two labels of one run (e.g. equal and static_1) never
    # train into the same folder side by side
    same: dict[str, list] = {}
    for k, r in out.items():
        if r is None:
            same.setdefault(cfgs[k].to_json(), []).append(k)
    missing = sorted((keys[0] for keys in same.values()), key=lambda k: longest_first(cfgs[k]))
    if not missing:
        return out
    # Progress goes to the process's own stderr (the terminal of `make report`), not into the notebook.
    term = sys.__stderr__ or sys.stderr
    distinct = len({c.to_json() for c in cfgs.values()})
    print(f"training {len(missing)} of {distinct} distinct runs ({len(cfgs)} requests; the rest are stored; "
          f"{jobs} at a time)", file=term, flush=True)
    bar = tqdm(total=len(missing), desc="runs", file=term, mininterval=1.0)

    def train(k):
        t0, started = time.perf_counter(), time.time()
        run = store.get_or_train(cfgs[k], progress=jobs == 1, isolate=True)
        record_training(run.path, started, time.time())
        return k, run, time.perf_counter() - t0

    with ThreadPoolExecutor(max_workers=max(1, jobs)) as pool:
        for fut in as_completed([pool.submit(train, k) for k in missing]):
            k, run, secs = fut.result()
            for label in same[cfgs[k].to_json()]:
                out[label] = run
            bar.write(f"  trained {k} in {secs:.0f} s", file=term)
            bar.update(1)
    bar.close()
    return out

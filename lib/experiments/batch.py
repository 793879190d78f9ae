"""Train a batch of runs: every missing one once, each in a fresh process, on the executor asked for.

    runs = get_or_train_all(configs(base, ["original", "gradnorm"], [0, 1]), jobs=2)
    runs = get_or_train_all(cfgs, executor="gpus")          # one run per GPU of this machine

The missing runs go to an executor (``lib.experiments.executors``: a local process pool, ``jobs`` at a time, by
default; one process per GPU; or submitit jobs) whose processes each train one run
(``RunStore.fetch``) and exit, so a run's peak memory is its own. Local processes fork from
``multiprocessing``'s forkserver, which has imported torch and the run store once (a new interpreter per
run would import them again: about 5 s each on a small CPU); where there is no fork (Windows) they are
spawned. A script that calls this needs Python's ``if __name__ == "__main__":`` guard: the training processes
import the script again.

Several batches may fill one store at once (two reports, two machines): each run trains once, under its lock;
the others wait for it and read it (``lib.store.runs``).
"""
from __future__ import annotations

import json
import os
import time
from concurrent.futures import as_completed
from concurrent.futures.process import BrokenProcessPool
from pathlib import Path

from ..config import TrainConfig
from .executors import ExecutorSpec, make_executor, where

# Methods that take one backward pass per task through the shared layers (a step costs about a pass more).
PER_TASK_BACKWARD = ("pcgrad", "cagrad")


class TrainingFailed(RuntimeError):
    """A run of the batch failed to train. ``run_dir``: its folder, kept for inspection; ``cause``: what
    training raised (or ``BrokenProcessPool`` where its process died)."""

    def __init__(self, run_dir: Path, cause: BaseException):
        self.run_dir, self.cause = Path(run_dir), cause
        if isinstance(cause, BrokenProcessPool):
            why = ('its process ended without a result: it was killed (out of memory?), or the calling script ran '
                   'again in it because its top level is not under `if __name__ == "__main__":` (add that guard)')
        else:
            why = f"{type(cause).__name__}: {cause}"
        kept = f"; its folder is kept for inspection: {self.run_dir}" if self.run_dir.exists() else ""
        super().__init__(f"training run {self.run_dir.name} failed ({why}){kept}")

    def __reduce__(self):  # raised in a pool process, re-raised here
        return type(self), (self.run_dir, self.cause)


def longest_first(cfg: TrainConfig) -> tuple:
    """Sort key putting the runs that take longest first, so runs side by side finish close together: two
    networks or a backward pass per task, then two tasks before one, then more epochs, then larger images."""
    heavy = cfg.model == "dual" or cfg.weighting in PER_TASK_BACKWARD
    return (not heavy, cfg.task != "both", -cfg.epochs, -cfg.imgsz)


def record_training(run_dir, started: float, ended: float, executor: str = "local") -> None:
    """When and where a run trained, beside the run: ``.training.json`` (a dot file, outside the run's
    manifest) with ``started`` and ``ended`` (epoch seconds), ``executor``, ``host``, ``pid`` and ``devices``
    (``executors.where``) and ``build`` (``$ECHO_MTL_BUILD``: the report build that trained it); read by the
    report runner (the runs' training time, where they trained, which this build trained)."""
    record = {"started": started, "ended": ended, "executor": executor, **where(),
              "build": os.environ.get("ECHO_MTL_BUILD")}  # the report build that asked for it (lib.report.runner)
    (Path(run_dir) / ".training.json").write_text(json.dumps(record))


def _train_one(root: str, cfg: TrainConfig, executor: str = "local") -> tuple[str, float, bool]:
    """In a training process: the run of ``cfg`` in the store at ``root``, trained here unless stored (or trained
    by another process meanwhile); (run folder, seconds, whether this process trained it). The folder is
    the one this process keys (the caller's key differs only if the code changed meanwhile)."""
    from ..store.runs import RunStore

    store = RunStore(root)
    t0, started = time.perf_counter(), time.time()
    try:
        run, trained = store.fetch(cfg, progress=False)
    except Exception as e:
        failed = store.partial_path(cfg)
        raise TrainingFailed(failed if failed.exists() else store.path(cfg), e) from e
    if trained:
        record_training(run.path, started, time.time(), executor)
    return str(run.path), time.perf_counter() - t0, trained


def get_or_train_all(cfgs: dict, store=None, jobs: int = 1, executor: ExecutorSpec | str | None = None) -> dict:
    """The run of every configuration (same keys as ``cfgs``), training the missing ones first.

    One training per distinct configuration (two labels of one run train once), longest first
    (``longest_first``), each in its own process (see the module's note), on ``executor``
    (``executors.make_executor``; None: local, ``jobs`` at a time). With jobs > 1 give each run one thread
    (``TrainConfig.threads``): on a small CPU two one-thread runs side by side train faster than one
    two-thread run. Progress: a ``tqdm.auto`` bar and a line per trained run,
    where the caller sees them (the notebook cell, or the terminal). Raises ``TrainingFailed`` naming the
    folder of a run that failed (runs already going finish; those not started are cancelled).
    """
    from ..store.runs import Run, RunStore

    if jobs < 1:
        raise ValueError(f"jobs must be at least 1, got {jobs}")
    spec = executor if isinstance(executor, ExecutorSpec) else ExecutorSpec.parse(executor)
    store = store or RunStore()
    out = {k: store.get(c) for k, c in cfgs.items()}
    labels: dict[str, list] = {}  # distinct missing configuration -> its labels
    for k, r in out.items():
        if r is None:
            labels.setdefault(cfgs[k].to_json(), []).append(k)
    missing = sorted((keys[0] for keys in labels.values()), key=lambda k: longest_first(cfgs[k]))
    if not missing:
        return out
    from tqdm.auto import tqdm  # here: a kernel without ipywidgets warns once on import

    distinct = len({c.to_json() for c in cfgs.values()})
    side = f"{jobs} at a time" if spec.kind == "local" else f"executor {spec.label}"
    print(f"training {len(missing)} of {distinct} distinct runs ({len(cfgs)} requests; the rest are stored; "
          f"{side})", flush=True)
    pool = make_executor(spec, min(jobs, len(missing)), store.root)
    try:
        futures = {pool.submit(_train_one, str(store.root), cfgs[k], spec.label): k for k in missing}
        with tqdm(total=len(missing), desc="runs", unit="run") as bar:
            for fut in as_completed(futures):
                k = futures[fut]
                try:
                    path, secs, trained = fut.result()
                except TrainingFailed:
                    raise
                except Exception as e:  # the process died (BrokenProcessPool), or a cluster job failed
                    partial = store.partial_path(cfgs[k])
                    raise TrainingFailed(partial if partial.exists() else store.path(cfgs[k]), e) from e
                run = Run(path)
                for label in labels[cfgs[k].to_json()]:
                    out[label] = run
                bar.write(f"  trained {k} in {secs:.0f} s" if trained
                          else f"  found {k} (trained by another process meanwhile)")
                bar.update(1)
    finally:
        pool.shutdown(wait=True, cancel_futures=True)
    return out

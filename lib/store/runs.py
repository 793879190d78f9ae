"""Run store: every trained run kept once, under a key hashed from everything that decides it.

    runs/<model>-<weighting>-<task>-s<seed>-<key>/
        config.json  history.csv  epochs.csv  metrics.json  model.pt  tables/*.csv
        MANIFEST.json   <- written last: file list with SHA-256; its presence marks the run complete

The key covers the configuration, the data (``lib.data.data_fingerprint``:
the bytes of every file the loader reads; computing it generates nothing), the
source of the code that trains (models, losses, weighting, data, evaluation,
the loop), the resolved device and the torch version
(``platform_fingerprint``). A run that several
notebooks need is trained once; a report rerun with nothing changed trains
nothing. A folder without a manifest (a killed run) is resumed from its
checkpoint; one whose files do not match their checksums is retrained with a
warning.

``RunStore.get_or_train`` is the one path from a configuration to a run, for
``lib.train.train``, the command line and the notebooks alike; ``isolate=True``
trains in a child process (``isolated_context``), so a run's peak memory is its
own and runs can go side by side. ``python -m lib.store.runs <run folder>``
trains a prepared folder in the calling process.

Under ``torchrun`` (``lib.engine.distributed``) every rank calls ``get_or_train``:
rank 0 takes the lock, looks the run up and prepares its folder, every rank
trains, rank 0 saves. The number of processes is part of the key (a run of N
processes differs from a run of one in its batch statistics and the order of
its sums); one process keeps the key it always had.
"""
from __future__ import annotations

import contextlib
import hashlib
import json
import math
import multiprocessing
import os
import shutil
import sys
import warnings
from functools import cached_property
from pathlib import Path

import pandas as pd
import torch

from .atomic import sha256_file, torch_save, write_text
from ..config import TrainConfig
from ..data import data_fingerprint, resolve_data
from ..engine.distributed import barrier, broadcast_object, world
from .paths import runs_root
from .lock import run_lock
from ..engine.seeding import resolve_device
from ..engine.trainer import Trainer

LIB = Path(__file__).resolve().parents[1]
CODE_PATHS = ("models", "losses", "weighting", "data", "evaluate", "engine", "upstream", "config.py", "store/runs.py")
MANIFEST = "MANIFEST.json"


def code_fingerprint() -> str:
    h = hashlib.sha256()
    for rel in CODE_PATHS:
        p = LIB / rel
        for f in sorted(p.rglob("*.py")) if p.is_dir() else [p]:
            h.update(str(f.relative_to(LIB)).encode())
            h.update(f.read_bytes())
    return h.hexdigest()


def platform_fingerprint(device: str) -> str:
    """What decides a run's numbers besides config, data and code: the resolved device (``auto`` becomes
    ``cpu`` or ``cuda``; a GPU's name and CUDA version) and the torch version."""
    dev = resolve_device(device)
    parts = [f"device={dev.type}", f"torch={torch.__version__}"]
    if dev.type == "cuda":
        parts += [f"gpu={torch.cuda.get_device_name(dev)}", f"cuda={torch.version.cuda}"]
    return ";".join(parts)


class Run:
    """A completed run folder: its config, metrics, histories, tables and final model."""

    def __init__(self, path: str | Path):
        self.path = Path(path)

    @cached_property
    def config(self) -> TrainConfig:
        return TrainConfig.from_dict(json.loads((self.path / "config.json").read_text()))

    @cached_property
    def metrics(self) -> dict:
        """Final metrics; an undefined one (stored as JSON null) is NaN again."""
        saved = json.loads((self.path / "metrics.json").read_text())
        return {k: math.nan if v is None else v for k, v in saved.items()}

    @cached_property
    def history(self) -> pd.DataFrame:
        return pd.read_csv(self.path / "history.csv")

    @cached_property
    def epochs(self) -> pd.DataFrame:
        return pd.read_csv(self.path / "epochs.csv")

    @property
    def key(self) -> str:
        return self.path.name.rsplit("-", 1)[-1]

    def table(self, name: str, index_col: int | None = 0) -> pd.DataFrame:
        """A saved evaluation table, e.g. ``test_detection_per_class`` or ``val_view_confusion``."""
        return pd.read_csv(self.path / "tables" / f"{name}.csv", index_col=index_col)

    def tables(self) -> list[str]:
        return sorted(p.stem for p in (self.path / "tables").glob("*.csv"))

    def load_model(self, device: str = "cpu"):
        from ..models import build_model

        state = torch.load(self.path / "model.pt", map_location=device, weights_only=True)
        cfg = self.config
        model = build_model(cfg.model, len(state["names"]), len(state["view_names"]), state["anchors"],
                            cfg.scale, cfg.tasks)
        model.load_state_dict(state["model"])
        model.names, model.view_names = list(state["names"]), list(state["view_names"])
        return model.eval()

    def verify(self) -> list[str]:
        """Files that are missing or differ from the manifest (empty when intact)."""
        manifest = json.loads((self.path / MANIFEST).read_text())
        bad = []
        for rel, digest in manifest["files"].items():
            f = self.path / rel
            if not f.is_file() or sha256_file(f) != digest:
                bad.append(rel)
        return bad

    def __repr__(self) -> str:
        return f"Run({self.path.name})"


def _strict(d: dict) -> dict:
    """NaN/infinite (undefined metrics) as None, so metrics.json is strict JSON (null)."""
    return {k: None if isinstance(v, float) and not math.isfinite(v) else v for k, v in d.items()}


def save_run(result, run_dir: Path, data_yaml: Path) -> Run:
    """Write a finished ``RunResult`` into ``run_dir``; the manifest last."""
    from ..evaluate import EvalResult  # noqa: F401  (documents the type of result.evals)

    run_dir.mkdir(parents=True, exist_ok=True)
    write_text(run_dir / "config.json", json.dumps(result.config.to_dict(), indent=2, sort_keys=True))
    write_text(run_dir / "history.csv", result.history.to_csv(index=False))
    write_text(run_dir / "epochs.csv", result.epochs.to_csv(index=False))
    write_text(run_dir / "metrics.json", json.dumps(_strict({**result.metrics, "data": str(data_yaml)}), indent=2,
                                                    allow_nan=False))
    model = result.model
    detect = getattr(model, "detect", None)
    torch_save({"model": model.state_dict(), "anchors": detect.anchors.cpu() if detect is not None else torch.zeros(3, 3, 2),
                "names": list(result.names), "view_names": list(result.view_names)}, run_dir / "model.pt")
    for split, res in result.evals.items():
        for name, table in res.tables().items():
            write_text(run_dir / "tables" / f"{split}_{name}.csv", table.to_csv())
    ckpt = run_dir / "checkpoint.pt"
    if ckpt.exists():
        ckpt.unlink()
    files = {str(f.relative_to(run_dir)): sha256_file(f) for f in sorted(run_dir.rglob("*"))
             if f.is_file() and f.name != MANIFEST and not f.name.startswith(".")}
    write_text(run_dir / MANIFEST, json.dumps({"files": files}, indent=2))
    return Run(run_dir)


class RunStore:
    def __init__(self, root: str | Path | None = None):
        # absolute: an isolated run's process must find the folder whatever its working directory
        self.root = (Path(root) if root is not None else runs_root()).resolve()

    def key(self, cfg: TrainConfig) -> str:
        h = hashlib.sha256()
        platform = platform_fingerprint(cfg.device)
        if cfg.threads == 0:  # torch's default thread count decides the last bits as much as a set one
            platform += f";threads={torch.get_num_threads()}"
        if world().size > 1:
            platform += f";processes={world().size}"
        for part in (cfg.to_json(), data_fingerprint(cfg.data), self._code, platform):
            h.update(part.encode())
        return h.hexdigest()[:16]

    @cached_property
    def _code(self) -> str:
        return code_fingerprint()

    def path(self, cfg: TrainConfig) -> Path:
        return self.root / f"{cfg.model}-{cfg.weighting}-{cfg.task}-s{cfg.seed}-{self.key(cfg)}"

    def get(self, cfg: TrainConfig) -> Run | None:
        """The stored run of ``cfg`` if complete and intact; a damaged one is removed with a warning."""
        path = self.path(cfg)
        if not (path / MANIFEST).is_file():
            return None
        run = Run(path)
        try:
            bad = run.verify()
        except (OSError, ValueError) as e:
            bad = [f"{MANIFEST} ({e})"]
        if bad:
            warnings.warn(f"run {path.name} is damaged ({', '.join(bad)}): training it again", stacklevel=2)
            shutil.rmtree(path)
            return None
        return run

    def get_or_train(self, cfg: TrainConfig, force: bool = False, progress: bool = True,
                     isolate: bool = False) -> Run:
        """The stored run of ``cfg``, trained first if missing (resuming a killed one).

        ``isolate``: train in a child process. Raises what training raises (in process), or
        ``RuntimeError`` naming the run folder (isolated). Under ``torchrun`` every rank must call it (with
        ``isolate=False``): see the module's note."""
        if world().size > 1:
            if isolate:
                raise ValueError("isolate=True trains in a child process, outside the torchrun process group: "
                                 "call get_or_train without it under torchrun")
            return self._get_or_train_distributed(cfg, force, progress)
        if isolate and getattr(multiprocessing.current_process(), "_inheriting", False):
            # multiprocessing's own check for this case comes later, after the lock the parent holds: a hang
            raise RuntimeError("a run was asked for while a training process was starting: the script that "
                               "trains (e.g. calls lib.experiments.methods.fetch) runs again in every training process "
                               "unless its top level is under `if __name__ == \"__main__\":`; add that guard")
        path = self.path(cfg)
        with run_lock(path):  # two processes asking for one run: one trains, the other then reads it
            run = self._stored_or_prepared(cfg, force)
            if run is not None:
                return run
            if not isolate:
                train_into(path, progress)
            else:
                proc = isolated_context().Process(target=_train_child, args=(str(path), progress, os.getcwd()),
                                                  name=path.name)
                proc.start()
                proc.join()
                if proc.exitcode != 0:
                    raise RuntimeError(f"training run {path.name} failed (exit {proc.exitcode}); "
                                       f"its folder is kept for inspection: {path}")
            return Run(path)

    def _stored_or_prepared(self, cfg: TrainConfig, force: bool) -> Run | None:
        """The stored run of ``cfg``, else None with its folder prepared (``force``: removed first); under its lock."""
        path = self.path(cfg)
        if force and path.exists():
            shutil.rmtree(path)
        run = self.get(cfg)
        if run is None:
            path.mkdir(parents=True, exist_ok=True)
            write_text(path / "config.json", json.dumps(cfg.to_dict(), indent=2, sort_keys=True))
        return run

    def _get_or_train_distributed(self, cfg: TrainConfig, force: bool, progress: bool) -> Run:
        path = self.path(cfg)
        main = world().main
        with run_lock(path) if main else contextlib.nullcontext():
            missing = main and self._stored_or_prepared(cfg, force) is None
            if missing:
                resolve_data(cfg.data)  # the synthetic set, generated by one rank before any rank reads it
            if broadcast_object(missing):
                train_into(path, progress)
            barrier()  # rank 0 has saved the run
        return Run(path)


def isolated_context():
    """Where isolated runs start: a fresh process forked from a server that has imported torch and this
    package once (``multiprocessing``'s forkserver with a preload), instead of a new interpreter that
    imports them again for every run (about 5 s each on a small CPU). The server never runs a torch op, so
    no thread pool is forked. On platforms without fork (Windows) a spawned interpreter does the same job."""
    import multiprocessing as mp

    if "forkserver" not in mp.get_all_start_methods():
        return mp.get_context("spawn")
    ctx = mp.get_context("forkserver")
    ctx.set_forkserver_preload(["lib.store.runs"])
    return ctx


def _train_child(run_dir: str, progress: bool, cwd: str) -> None:
    os.chdir(cwd)  # the caller's: relative $ECHO_MTL_DATA / $ECHO_MTL_RUNS mean what they meant there
    train_into(Path(run_dir), progress)


def train_into(run_dir: Path, progress: bool = True) -> Run:
    """Train the run described by ``run_dir/config.json`` (resuming a checkpoint) and save it."""
    cfg = TrainConfig.from_dict(json.loads((run_dir / "config.json").read_text()))
    trainer = Trainer(cfg, run_dir=run_dir, progress=progress)
    result = trainer.fit()
    if result is None:  # not rank 0: rank 0 saves
        return Run(run_dir)
    return save_run(result, run_dir, trainer.data_yaml)


if __name__ == "__main__":
    train_into(Path(sys.argv[1]), progress="--no-progress" not in sys.argv)

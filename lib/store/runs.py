"""Run store: every trained run kept once, under a key hashed from everything that decides it.

    runs/<model>-<weighting>-<task>-s<seed>-<key>/
        config.json  history.csv  epochs.csv  metrics.json  model.pt  tables/*.csv
        results.csv  tensorboard/   <- with history.csv and epochs.csv, rewritten after every epoch (lib.engine.logs)
        MANIFEST.json   <- written last: file list with SHA-256; its presence marks the run complete

The key covers the configuration (with ``--weights`` as the SHA-256 of the checkpoint's bytes, not its path:
``config_part``), the data (``lib.data.data_fingerprint``:
the bytes of every file the loader reads; computing it generates nothing), the
code that trains (``codekey.code_fingerprint`` of ``TRAINING_MODULES``: the
docstring-free syntax of every ``lib`` module they import, found by following
imports), the resolved device and the torch version
(``platform_fingerprint``). A run that several
notebooks need is trained once; a report rerun with nothing changed trains
nothing. A folder without a manifest (a killed run) is resumed from its
checkpoint; one whose files do not match their checksums, or one retrained
with ``force=True``, is moved aside to ``<store>/.quarantine/`` (with a
warning naming where) and trained again: nothing trained is deleted.

``RunStore.get_or_train`` is the one path from a configuration to a run, for
``lib.train.train``, the command line and the notebooks alike; it trains in the
calling process (``lib.experiments.batch.get_or_train_all`` trains many, each in
a process of its own). ``python -m lib.store.runs <run folder>`` trains a
prepared folder in the calling process.

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
import shutil
import sys
import time
import warnings
from functools import cached_property
from pathlib import Path

import pandas as pd
import torch

from .atomic import sha256_file, torch_save, write_text
from .codekey import code_fingerprint
from ..config import TrainConfig
from ..data import data_fingerprint, resolve_data
from ..engine.distributed import barrier, broadcast_object, world
from ..engine.logs import where_to_look
from .paths import MANIFEST, runs_root
from .lock import run_lock
from .model_file import load_model_file, model_payload
from ..engine.seeding import resolve_device
from ..engine.trainer import Trainer
from ..weights import weights_fingerprint

LIB = Path(__file__).resolve().parents[1]
# where a run's numbers are computed: the loop, the store that saves it, its configuration; every lib module
# they import is found from these (lib.store.codekey)
TRAINING_MODULES = ("lib.engine.trainer", "lib.store.runs", "lib.config")
QUARANTINE = ".quarantine"


def platform_fingerprint(device: str) -> str:
    """What decides a run's numbers besides config, data and code: the resolved device (``auto`` becomes
    ``cpu`` or ``cuda``; a GPU's name and CUDA version) and the torch version."""
    dev = resolve_device(device)
    parts = [f"device={dev.type}", f"torch={torch.__version__}"]
    if dev.type == "cuda":
        parts += [f"gpu={torch.cuda.get_device_name(dev)}", f"cuda={torch.version.cuda}"]
    return ";".join(parts)


def config_part(cfg: TrainConfig) -> str:
    """The configuration as the key sees it: ``--weights`` by its file's bytes (``sha256:...``), not its path, so
    the same checkpoint anywhere is the same run and another checkpoint at the same path is another."""
    if cfg.weights is None:
        return cfg.to_json()
    return json.dumps({**cfg.to_dict(), "weights": weights_fingerprint(cfg.weights)}, sort_keys=True,
                      separators=(",", ":"))


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
        """The saved model in eval mode, with ``names`` and ``view_names`` (``lib.store.model_file``)."""
        return load_model_file(self.path / "model.pt", device).model

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
    run_dir.mkdir(parents=True, exist_ok=True)
    write_text(run_dir / "config.json", json.dumps(result.config.to_dict(), indent=2, sort_keys=True))
    write_text(run_dir / "history.csv", result.history.to_csv(index=False))
    write_text(run_dir / "epochs.csv", result.epochs.to_csv(index=False))
    write_text(run_dir / "metrics.json", json.dumps(_strict({**result.metrics, "data": str(data_yaml)}), indent=2,
                                                    allow_nan=False))
    torch_save(model_payload(result.model, result.config, result.names, result.view_names), run_dir / "model.pt")
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
        # absolute: a training process (lib.experiments.batch) finds the folder whatever its working directory
        self.root = (Path(root) if root is not None else runs_root()).resolve()

    def key(self, cfg: TrainConfig) -> str:
        h = hashlib.sha256()
        platform = platform_fingerprint(cfg.device)
        if cfg.threads == 0:  # torch's default thread count decides the last bits as much as a set one
            platform += f";threads={torch.get_num_threads()}"
        if world().size > 1:
            platform += f";processes={world().size}"
        for part in (config_part(cfg), data_fingerprint(cfg.data), self._code, platform):
            h.update(part.encode())
        return h.hexdigest()[:16]

    @cached_property
    def _code(self) -> str:
        return code_fingerprint(TRAINING_MODULES, LIB)

    def path(self, cfg: TrainConfig) -> Path:
        return self.root / f"{cfg.model}-{cfg.weighting}-{cfg.task}-s{cfg.seed}-{self.key(cfg)}"

    def get(self, cfg: TrainConfig) -> Run | None:
        """The stored run of ``cfg`` if complete and intact; a damaged one is moved aside (``quarantine``)."""
        path = self.path(cfg)
        if not (path / MANIFEST).is_file():
            return None
        run = Run(path)
        try:
            bad = run.verify()
        except (OSError, ValueError) as e:
            bad = [f"{MANIFEST} ({e})"]
        if bad:
            moved = self.quarantine(path)
            warnings.warn(f"run {path.name} is damaged ({', '.join(bad)}): moved to {moved}; training it again",
                          stacklevel=2)
            return None
        return run

    def quarantine(self, path: Path) -> Path:
        """Move run folder ``path`` to ``<store>/.quarantine/<run name>-<UTC time>`` and return where it went;
        nothing is deleted (a hand-edited run keeps its model). Call it under the run's lock."""
        stamp = time.strftime("%Y%m%dT%H%M%SZ", time.gmtime())
        target = self.root / QUARANTINE / f"{path.name}-{stamp}"
        n = 1
        while target.exists():  # twice in one second
            n += 1
            target = self.root / QUARANTINE / f"{path.name}-{stamp}-{n}"
        target.parent.mkdir(parents=True, exist_ok=True)
        shutil.move(path, target)
        return target

    def get_or_train(self, cfg: TrainConfig, force: bool = False, progress: bool = True) -> Run:
        """The stored run of ``cfg``, trained first in this process if missing (resuming a killed one).

        Raises what training raises. Under ``torchrun`` every rank must call it: see the module's note."""
        if world().size > 1:
            return self._get_or_train_distributed(cfg, force, progress)
        path = self.path(cfg)
        with run_lock(path):  # two processes asking for one run: one trains, the other then reads it
            run = self._stored_or_prepared(cfg, force)
            if run is not None:
                return run
            train_into(path, progress)
            return Run(path)

    def _stored_or_prepared(self, cfg: TrainConfig, force: bool) -> Run | None:
        """The stored run of ``cfg``, else None with its folder prepared (``force``: the old folder moved aside
        first, see ``quarantine``); under its lock."""
        path = self.path(cfg)
        if force and path.exists():
            moved = self.quarantine(path)
            warnings.warn(f"run {path.name} retrained (force=True): the old folder moved to {moved}", stacklevel=3)
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


def train_into(run_dir: Path, progress: bool = True) -> Run:
    """Train the run described by ``run_dir/config.json`` (resuming a checkpoint) and save it. With ``progress``,
    a line on stderr names the files that grow while it trains (``lib.engine.logs.where_to_look``)."""
    cfg = TrainConfig.from_dict(json.loads((run_dir / "config.json").read_text()))
    trainer = Trainer(cfg, run_dir=run_dir, progress=progress)
    if trainer.progress:  # the data is read and the model built: say where to watch it train
        print(where_to_look(run_dir), file=sys.stderr)
    result = trainer.fit()
    if result is None:  # not rank 0: rank 0 saves
        return Run(run_dir)
    return save_run(result, run_dir, trainer.data_yaml)


if __name__ == "__main__":
    train_into(Path(sys.argv[1]), progress="--no-progress" not in sys.argv)

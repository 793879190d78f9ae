"""Run store: every trained run kept once, under a key hashed from everything that decides it.

    runs/<model>-<weighting>-<task>-s<seed>-<key>/
        config.json  history.csv  epochs.csv  metrics.json  model.pt  tables/*.csv
        results.csv  tensorboard/   <- with history.csv and epochs.csv, rewritten after every epoch (lib.engine.logs)
        MANIFEST.json   <- written last: file list with SHA-256
        .training.json  <- where and when it trained (lib.experiments.batch), outside the manifest
    runs/.partial/<run name>/   <- a run while it trains, renamed to runs/<run name>/ when complete
    runs/.locks/<run name>.lock  runs/.quarantine/

The key covers the configuration (with ``--weights`` as the SHA-256 of the checkpoint's bytes, not its path:
``config_part``), the data (``lib.data.data_fingerprint``:
the bytes of every file the loader reads; computing it generates nothing), the
code that trains (``codekey.code_fingerprint`` of ``TRAINING_MODULES``: the
docstring-free syntax of every ``lib`` module they import, found by following
imports; this module is not among them: how runs are found and published decides
no number), the resolved device and the torch version
(``platform_fingerprint``). A run that several
notebooks need is trained once; a report rerun with nothing changed trains
nothing.

Safe for several processes and machines filling one store (a shared filesystem):
a run trains in ``.partial/<name>/`` under the run's lock (``lock.run_lock``) and
is renamed to its final name only when its manifest is written, so a folder
under its final name is complete. A process that dies mid-run leaves its
partial folder; the next request for that run resumes it from its last
checkpoint (or publishes it, if only the rename was missing). A complete folder
whose files do not match their checksums, or one retrained with ``force=True``,
is moved aside to ``<store>/.quarantine/`` (with a warning naming where) and
trained again: nothing trained is deleted.

``RunStore.get_or_train`` is the one path from a configuration to a run, for
``lib.train.train``, the command line and the notebooks alike; it trains in the
calling process (``lib.experiments.batch.get_or_train_all`` trains many, each in
a process of its own, through ``lib.experiments.executors``).

Under ``torchrun`` (``lib.engine.distributed``) every rank calls ``get_or_train``:
rank 0 takes the lock, looks the run up and prepares its folder, every rank
trains, rank 0 saves and publishes. The number of processes is part of the key (a run of N
processes differs from a run of one in its batch statistics and the order of
its sums); one process keeps the key it always had.
"""
from __future__ import annotations

import contextlib
import hashlib
import json
import math
import os
import shutil
import time
import warnings
from functools import cached_property
from pathlib import Path

import pandas as pd
import torch

from .atomic import sha256_file, write_text
from .codekey import code_fingerprint
from ..config import LOADER_FIELDS, TrainConfig
from ..data import data_fingerprint, resolve_data
from ..engine.distributed import barrier, broadcast_object, world
from .paths import MANIFEST, runs_root
from .lock import run_lock
from .model_file import load_model_file
from ..engine.seeding import resolve_device
from .training import train_into
from ..weights import weights_fingerprint

LIB = Path(__file__).resolve().parents[1]
# where a run's numbers are computed: the loop, the code that writes them, its configuration; every lib module
# they import is found from these (lib.store.codekey)
TRAINING_MODULES = ("lib.engine.trainer", "lib.store.training", "lib.config")
QUARANTINE = ".quarantine"
PARTIAL = ".partial"


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
    the same checkpoint anywhere is the same run and another checkpoint at the same path is another; the loader's
    fields (``LOADER_FIELDS``: cache, workers) left out, as every value of them gives the same batches."""
    d = {k: v for k, v in cfg.to_dict().items() if k not in LOADER_FIELDS}
    if cfg.weights is not None:
        d["weights"] = weights_fingerprint(cfg.weights)
    return json.dumps(d, sort_keys=True, separators=(",", ":"))


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
        bad = self._damaged(run)
        if bad:
            moved = self.quarantine(path)
            warnings.warn(f"run {path.name} is damaged ({', '.join(bad)}): moved to {moved}; training it again",
                          stacklevel=2)
            return None
        return run

    @staticmethod
    def _damaged(run: Run) -> list[str]:
        """What ``Run.verify`` finds wrong, an unreadable manifest included (empty when intact)."""
        try:
            return run.verify()
        except (OSError, ValueError) as e:
            return [f"{MANIFEST} ({e})"]

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

    def partial_path(self, cfg: TrainConfig) -> Path:
        """Where the run of ``cfg`` trains until it is complete: ``<store>/.partial/<run name>``."""
        return self.root / PARTIAL / self.path(cfg).name

    def get_or_train(self, cfg: TrainConfig, force: bool = False, progress: bool = True) -> Run:
        """The stored run of ``cfg``, trained first in this process if missing (resuming a killed one).

        Raises what training raises. Under ``torchrun`` every rank must call it: see the module's note."""
        return self.fetch(cfg, force, progress)[0]

    def fetch(self, cfg: TrainConfig, force: bool = False, progress: bool = True) -> tuple[Run, bool]:
        """``get_or_train``, and whether this call trained the run (False: it was stored, or another process
        trained it while this one waited for its lock)."""
        if world().size > 1:
            return self._fetch_distributed(cfg, force, progress)
        with run_lock(self.path(cfg)):  # two processes asking for one run: one trains, the other then reads it
            run = self._stored_or_prepared(cfg, force)
            if run is not None:
                return run, False
            train_into(self.partial_path(cfg), progress)
            return self._publish(cfg), True

    def _stored_or_prepared(self, cfg: TrainConfig, force: bool) -> Run | None:
        """Under the run's lock: the stored run of ``cfg`` (a partial folder that is complete but was not yet
        renamed is published), else None with its partial folder prepared (a killed run's kept: training
        resumes from its checkpoint). ``force``: the stored and partial folders moved aside first
        (``quarantine``). A folder under the final name without a manifest, or a damaged saved partial
        folder, is moved aside too."""
        path, partial = self.path(cfg), self.partial_path(cfg)
        if force:
            for old in (path, partial):
                if old.exists():
                    moved = self.quarantine(old)
                    warnings.warn(f"run {path.name} retrained (force=True): {old} moved to {moved}", stacklevel=4)
        run = self.get(cfg)
        if run is not None:
            return run
        if path.exists():  # a final name without a manifest: not this store's doing (a copy, a hand edit)
            self.quarantine(path)
        if (partial / MANIFEST).is_file():  # saved, then killed before the rename
            if not self._damaged(Run(partial)):
                return self._publish(cfg)
            self.quarantine(partial)
        partial.mkdir(parents=True, exist_ok=True)
        write_text(partial / "config.json", json.dumps(cfg.to_dict(), indent=2, sort_keys=True))
        return None

    def _publish(self, cfg: TrainConfig) -> Run:
        """Rename the complete partial folder of ``cfg`` to its final name (one atomic rename on one filesystem);
        under the run's lock."""
        path = self.path(cfg)
        os.rename(self.partial_path(cfg), path)
        return Run(path)

    def _fetch_distributed(self, cfg: TrainConfig, force: bool, progress: bool) -> tuple[Run, bool]:
        path = self.path(cfg)
        main = world().main
        with run_lock(path) if main else contextlib.nullcontext():
            missing = main and self._stored_or_prepared(cfg, force) is None
            if missing:
                resolve_data(cfg.data)  # the synthetic set, generated by one rank before any rank reads it
            trained = broadcast_object(missing)
            if trained:
                train_into(self.partial_path(cfg), progress)
                if main:
                    self._publish(cfg)
            barrier()  # rank 0 has saved and published the run
        return Run(path), trained

"""Train a prepared run folder and save what it computed: the code between a run's configuration and its files.

    run_dir/config.json  ->  train_into(run_dir)  ->  config.json history.csv epochs.csv metrics.json model.pt
                                                      tables/*.csv  MANIFEST.json (written last)

This module, with the trainer and the configuration, is what a run's key fingerprints
(``lib.store.runs.TRAINING_MODULES``): how a run's numbers are computed and written. How the store finds,
locks, resumes and publishes run folders (``lib.store.runs``) decides no number, so editing it keeps every
stored run.

``python -m lib.store.training <run folder>`` trains a prepared folder in the calling process.
"""
from __future__ import annotations

import json
import math
import sys
from pathlib import Path

from .atomic import sha256_file, torch_save, write_text
from .model_file import model_payload
from .paths import MANIFEST
from ..config import TrainConfig
from ..engine.logs import where_to_look
from ..engine.trainer import Trainer


def _strict(d: dict) -> dict:
    """NaN/infinite (undefined metrics) as None, so metrics.json is strict JSON (null)."""
    return {k: None if isinstance(v, float) and not math.isfinite(v) else v for k, v in d.items()}


def save_run(result, run_dir: Path, data_yaml: Path) -> Path:
    """Write a finished ``RunResult`` into ``run_dir``; the manifest last (file list with SHA-256; its presence
    marks the folder complete). Returns ``run_dir``."""
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
    return run_dir


def train_into(run_dir: Path, progress: bool = True) -> Path | None:
    """Train the run described by ``run_dir/config.json`` (resuming its ``checkpoint.pt`` if there is one) and
    save it there; returns ``run_dir`` (None on ranks other than 0 under ``torchrun``: rank 0 saves). With
    ``progress``, a line on stderr names the files that grow while it trains (``lib.engine.logs.where_to_look``)."""
    run_dir = Path(run_dir)
    cfg = TrainConfig.from_dict(json.loads((run_dir / "config.json").read_text()))
    trainer = Trainer(cfg, run_dir=run_dir, progress=progress)
    if trainer.progress:  # the data is read and the model built: say where to watch it train
        print(where_to_look(run_dir), file=sys.stderr)
    result = trainer.fit()
    if result is None:
        return None
    return save_run(result, run_dir, trainer.data_yaml)


if __name__ == "__main__":
    train_into(Path(sys.argv[1]), progress="--no-progress" not in sys.argv)

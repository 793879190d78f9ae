"""Train one configuration: ``train(cfg)`` in Python, ``python -m lib.train`` on the command line.

    python -m lib.train --model shared --weighting gradnorm --epochs 8
    python -m lib.train --data path/to/data.yaml --model dual --imgsz 320 --device cuda

Both go through the run store (``lib.store.runs``): a configuration already
trained with the same data and code is returned, not trained again. The loop
itself is ``lib.engine.trainer.Trainer``; the flags are ``lib.cli``'s.
"""
from __future__ import annotations

import sys
from pathlib import Path

from .config import TrainConfig
from .store.runs import Run, RunStore


def train(cfg: TrainConfig, runs: str | Path | None = None, force: bool = False, progress: bool = True) -> Run:
    """The run of ``cfg`` from the store under ``runs`` (default ``lib.store.paths.runs_root()``), trained if missing.

    ``Run.metrics`` holds the final figures, ``Run.history`` the per-step log, ``Run.load_model()`` the model.
    """
    return RunStore(runs).get_or_train(cfg, force=force, progress=progress)


if __name__ == "__main__":
    from .cli import main

    sys.exit(main())

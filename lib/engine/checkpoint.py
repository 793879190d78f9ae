"""What a training run needs to resume bit-identically, saved and loaded as one value.

A ``TrainState`` holds the configuration (as canonical JSON, so a checkpoint
of another configuration is refused), the epoch just finished, the step
count, the model, optimizer, schedule and weighting state, the history so
far and every random generator in use: torch's CPU generator, each CUDA
device's, NumPy's and Python's. It is written atomically.

``TrainState.of(trainer, epoch)`` takes it from a ``lib.engine.trainer.Trainer``
after an epoch; ``resume(trainer, state)`` puts it back, refusing a checkpoint
of another configuration or another number of processes.
"""
from __future__ import annotations

from dataclasses import asdict, dataclass
from pathlib import Path

import math
import sys

import torch

from ..store.atomic import torch_save
from .seeding import capture_rng, restore_rng


@dataclass
class TrainState:
    config: str        # TrainConfig.to_json()
    epoch: int         # the last finished epoch (0-based)
    step: int          # optimizer steps taken
    model: dict
    optimizer: dict
    scheduler: dict
    weighting: dict
    history: list      # one dict per step (lib.engine.history)
    epochs: list       # one dict per epoch
    rng: dict          # lib.engine.seeding.capture_rng() (rank 0's: every rank draws the same numbers)
    world_size: int = 1           # processes that trained it (lib.engine.distributed)
    ema: dict | None = None       # lib.engine.ema.ModelEMA.state_dict()
    scaler: dict | None = None    # torch.amp.GradScaler.state_dict()
    skipped_steps: int = 0        # steps the GradScaler skipped
    # lib.engine.stopping.Plateau.state_dict(); the defaults are a run without patience
    best_epoch: int | None = None           # 0-based; None before the first validation
    best_fitness: float = -math.inf
    epochs_since_best: int = 0
    reference_fitness: float = -math.inf    # the fitness that last restarted the patience count (min_delta)
    best_model: dict | None = None          # the best epoch's evaluated weights (patience > 0 only)
    task_rules: dict | None = None          # task -> its EarlyStopping.state_dict() (two tasks)

    @classmethod
    def of(cls, trainer, epoch: int) -> "TrainState":
        """The state of ``trainer`` after ``epoch``. The generators are ``capture_rng``'s and, on CUDA, the run
        GPU's under ``run_device`` (dropout draws from it; with several GPUs each rank's is rank 0's, so rank 0's
        state resumes them all)."""
        t = trainer
        rng = capture_rng()
        if t.device.type == "cuda":
            rng["run_device"] = torch.cuda.get_rng_state(t.device)
        return cls(config=t.cfg.to_json(), epoch=epoch, step=t.step, model=t.model.state_dict(),
                   optimizer=t.optimizer.state_dict(), scheduler=t.scheduler.state_dict(),
                   weighting=t.weighting.state_dict(), history=t.history, epochs=t.epoch_rows, rng=rng,
                   world_size=t.world.size, ema=t.ema.state_dict() if t.ema is not None else None,
                   scaler=t.scaler.state_dict() if t.scaler is not None else None, skipped_steps=t.skipped_steps,
                   **t.plateau.state_dict())

    def save(self, path: Path) -> None:
        torch_save(asdict(self), path)

    @classmethod
    def load(cls, path: Path) -> "TrainState":
        """Every tensor on the CPU: ``load_state_dict`` of the model, optimizer and weighting copies to their
        devices, and generator states (torch's, NumPy's, PCGrad's) must stay CPU tensors."""
        state = torch.load(path, map_location="cpu", weights_only=True)  # tensors, numbers, lists only
        return cls(**state)


def resume(trainer, state: TrainState) -> None:
    """Put ``state`` back into ``trainer`` (a ``Trainer`` just built from the same configuration). Raises
    ``ValueError`` naming the checkpoint when it belongs to another configuration or process count."""
    t, path = trainer, trainer.checkpoint_path
    if state.config != t.cfg.to_json():
        raise ValueError(f"{path} belongs to another configuration; delete it or use another run folder")
    if state.world_size != t.world.size:
        raise ValueError(f"{path} was written by a run of {state.world_size} process(es), this one has "
                         f"{t.world.size}: the data shards and batch statistics differ; resume with "
                         f"{state.world_size} or use another run folder")
    t.model.load_state_dict(state.model)
    if t.ema is not None:
        t.ema.load_state_dict(state.ema)
    if t.scaler is not None:
        t.scaler.load_state_dict(state.scaler)
    t.skipped_steps = state.skipped_steps
    t.plateau.load_state_dict({k: getattr(state, k) for k in t.plateau.state_dict()})
    t.weighting.load_state_dict(state.weighting)  # before the optimizer: its tensors keep their device
    t.optimizer.load_state_dict(state.optimizer)
    t.scheduler.load_state_dict(state.scheduler)
    t.history, t.epoch_rows = list(state.history), list(state.epochs)
    restore_rng(state.rng)
    if "run_device" in state.rng:  # rank 0's generator of its GPU: every rank's GPU draws the same numbers
        torch.cuda.set_rng_state(state.rng["run_device"], t.device)
    t.start_epoch, t.step = state.epoch + 1, state.step
    if t.world.main:
        print(f"resumed from {path} after epoch {state.epoch + 1}/{t.cfg.epochs}", file=sys.stderr)

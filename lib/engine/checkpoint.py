"""What a training run needs to resume bit-identically, saved and loaded as one value.

A ``TrainState`` holds the configuration (as canonical JSON, so a checkpoint
of another configuration is refused), the epoch just finished, the step
count, the model, optimizer, schedule and weighting state, the history so
far and every random generator in use: torch's CPU generator, each CUDA
device's, NumPy's and Python's. It is written atomically.
"""
from __future__ import annotations

from dataclasses import asdict, dataclass
from pathlib import Path

import torch

from ..store.atomic import torch_save


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

    def save(self, path: Path) -> None:
        torch_save(asdict(self), path)

    @classmethod
    def load(cls, path: Path) -> "TrainState":
        """Every tensor on the CPU: ``load_state_dict`` of the model, optimizer and weighting copies to their
        devices, and generator states (torch's, NumPy's, PCGrad's) must stay CPU tensors."""
        state = torch.load(path, map_location="cpu", weights_only=True)  # tensors, numbers, lists only
        return cls(**state)

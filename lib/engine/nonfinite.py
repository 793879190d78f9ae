"""The errors that stop a run on a NaN or infinite value, naming the step and what became non-finite."""
from __future__ import annotations

from pathlib import Path

import torch


class NonFiniteLossError(FloatingPointError):
    """A task loss became NaN or infinite; names the step and the task."""

    def __init__(self, step: int, epoch: int, task: str, value: float, checkpoint: Path | None):
        kept = f"; last good checkpoint kept at {checkpoint}" if checkpoint else ""
        super().__init__(f"non-finite {task} loss ({value}) at step {step} (epoch {epoch + 1}): training stopped{kept}")
        self.step, self.epoch, self.task, self.value = step, epoch, task, value


class NonFiniteWeightingError(NonFiniteLossError):
    """The loss weighting's loss, a task weight or its state became NaN or infinite; names the step, the
    method and the quantity (``Weighting.nonfinite``). A ``NonFiniteLossError``, so callers stop alike."""

    def __init__(self, step: int, epoch: int, weighting: str, quantity: str, value: float, checkpoint: Path | None):
        kept = f"; last good checkpoint kept at {checkpoint}" if checkpoint else ""
        FloatingPointError.__init__(self, f"non-finite {quantity} ({value}) in the {weighting} weighting at step "
                                          f"{step} (epoch {epoch + 1}): training stopped{kept}")
        self.step, self.epoch, self.task, self.value = step, epoch, None, value
        self.weighting, self.quantity = weighting, quantity


def check_losses(tasks, losses, step: int, epoch: int, checkpoint: Path | None) -> None:
    """``NonFiniteLossError`` naming the first task whose loss is NaN or infinite."""
    for task, loss in zip(tasks, losses):
        if not torch.isfinite(loss):
            raise NonFiniteLossError(step, epoch, task, float(loss.detach()), checkpoint)


def check_weighting(weighting, info, cfg, step: int, epoch: int, checkpoint: Path | None) -> None:
    """``NonFiniteWeightingError`` naming the weighting's first NaN or infinite quantity (``Weighting.nonfinite``)."""
    problem = weighting.nonfinite(info, cfg.tasks)
    if problem:
        raise NonFiniteWeightingError(step, epoch, cfg.weighting, *problem, checkpoint)

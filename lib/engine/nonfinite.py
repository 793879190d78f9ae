"""The errors that stop a run on a NaN or infinite value, naming the step and what became non-finite."""
from __future__ import annotations

from pathlib import Path


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

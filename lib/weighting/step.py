"""What one training step hands a weighting besides the task losses: ``Step``.

The training loop builds one ``Step`` per optimizer step (``lib.engine.update``):
the model, the trunk/head boundary when the method asked for one, the task
outputs, the GradScaler's scale and the mean over processes. A weighting reads
everything from it and keeps nothing of it, so the weighting package does not
depend on the engine (torchjd's ``mtl_backward(losses, features=...)`` likewise
takes what a step needs as arguments).
"""
from __future__ import annotations

from dataclasses import dataclass
from typing import TYPE_CHECKING, Callable, Sequence

import torch

if TYPE_CHECKING:
    from ..models.base import MultiTaskModel
    from ..models.boundary import Boundary


def one_process(x: torch.Tensor) -> torch.Tensor:
    """The mean of ``x`` over a single process: ``x`` itself."""
    return x


@dataclass(frozen=True)
class Step:
    """One step's context for ``Weighting.backward``.

    ``model``: the ``MultiTaskModel`` whose parameters receive the gradient.
    ``boundary``: a ``lib.models.Boundary`` (the model was run with ``forward_with_boundary``); given only when
    ``weighting.wants_boundary(model)`` is True, and then the weighting must send the trunk's gradient through it.
    ``outputs``: the task outputs, in ``model.tasks`` order (read by rules that measure gradients on logits).
    ``scale``: the GradScaler's scale S (a power of two; 1.0 without a scaler): the gradient a method leaves on a
    parameter is S x its gradient, while everything it reads is unscaled.
    ``reduce``: the mean over processes of a detached tensor (``lib.engine.distributed.all_reduce_mean``);
    ``one_process`` with one. ``ranks``: the number of processes.
    Raises ``ValueError`` for a scale that is not > 0 or a rank count below 1.
    """

    model: MultiTaskModel
    boundary: Boundary | None = None
    outputs: Sequence | None = None
    scale: float = 1.0
    reduce: Callable[[torch.Tensor], torch.Tensor] = one_process
    ranks: int = 1

    def __post_init__(self):
        if not (self.scale > 0):  # an infinite scale is allowed: GradScaler then skips the step
            raise ValueError(f"scale must be > 0, got {self.scale!r}")
        if self.ranks < 1:
            raise ValueError(f"ranks must be >= 1, got {self.ranks!r}")

    def scaled(self, objective: torch.Tensor) -> torch.Tensor:
        """``objective`` x ``scale``: what a method differentiates into the parameters' ``.grad``."""
        return objective if self.scale == 1.0 else objective * self.scale


"""The contract between a training loop and a multi-task weighting method.

As in LibMTL's ``AbsWeighting``, a weighting turns the list of task losses
into gradients: ``backward`` leaves ``.grad`` set on the model's parameters,
the training loop then calls its optimizer. A weighting sees the model only
through ``MultiTaskModel``'s contract (shared parameters, per-task probe
layer), so every weighting runs with every architecture.
"""
from __future__ import annotations

from abc import ABC, abstractmethod
from dataclasses import dataclass, field
from typing import Sequence

import torch


@dataclass
class StepInfo:
    """What one ``backward`` reports for the run history."""

    weights: list[float]  # the weight each task's loss carried in this step's gradient
    extra: dict[str, float] = field(default_factory=dict)  # method-specific values (gradient norms, ...)


class Weighting(ABC):
    """Base class. Subclasses implement ``backward``; stateful ones override the state methods."""

    name: str = ""

    def __init__(self, n_tasks: int):
        if n_tasks < 1:
            raise ValueError(f"n_tasks must be >= 1, got {n_tasks}")
        self.n_tasks = n_tasks

    @abstractmethod
    def backward(self, losses: Sequence[torch.Tensor], model, outputs: Sequence[torch.Tensor] | None = None) -> StepInfo:
        """Set ``.grad`` on ``model``'s parameters from the task ``losses`` (in ``model.tasks`` order).

        ``outputs`` (the task outputs) is only read by rules that measure gradients on logits.
        """

    def parameters(self) -> list[torch.Tensor]:
        """Extra learnable tensors to be trained by the model's optimizer (e.g. uncertainty log-variances)."""
        return []

    def on_epoch_end(self) -> None:
        """Called by the training loop after every epoch (for epoch-level methods such as DWA)."""

    def state_dict(self) -> dict:
        return {}

    def load_state_dict(self, state: dict) -> None:
        pass

    def _check(self, losses: Sequence[torch.Tensor]) -> torch.Tensor:
        if len(losses) != self.n_tasks:
            raise ValueError(f"{type(self).__name__} was built for {self.n_tasks} tasks, got {len(losses)} losses")
        return torch.stack(list(losses))


def grad_norm(grads: Sequence[torch.Tensor | None]) -> torch.Tensor:
    """L2 norm of a list of gradients (``None`` entries, for unused parameters, count as zero)."""
    sq = [g.pow(2).sum() for g in grads if g is not None]
    return torch.stack(sq).sum().sqrt() if sq else torch.zeros(())


def shared_task_gradients(losses: Sequence[torch.Tensor], model) -> torch.Tensor:
    """Each task's gradient on the model's shared parameters, flattened: (T, P).

    Pass the separate loss tensors, not elements of their stack (which would also
    send zeros back through every other task's graph).

    One backward per task. Task-specific parameters keep their gradients (each
    is reached by its own task only), so a method that rewrites the shared
    gradient (PCGrad, CAGrad) needs no further backward. Shared ``.grad`` is
    left empty for ``set_shared_gradient``.
    """
    shared = model.shared_parameters()
    rows = []
    for i, loss in enumerate(losses):
        for p in shared:
            p.grad = None
        loss.backward(retain_graph=i < len(losses) - 1)
        rows.append(torch.cat([(p.grad if p.grad is not None else torch.zeros_like(p)).reshape(-1) for p in shared])
                    if shared else loss.new_zeros(0))
    for p in shared:
        p.grad = None
    return torch.stack(rows)


def set_shared_gradient(model, g: torch.Tensor) -> None:
    """Write a flat gradient back onto the shared parameters."""
    offset = 0
    for p in model.shared_parameters():
        n = p.numel()
        p.grad = g[offset:offset + n].view_as(p).clone()
        offset += n

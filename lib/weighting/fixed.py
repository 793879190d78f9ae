"""Static task weights: L = sum_i w_i L_i.

Upstream's "original architecture" trained with detection 1.0 and
classification 0.01; ``Equal`` is the plain sum.
"""
from __future__ import annotations

from typing import Sequence

import torch

from .base import StepInfo, Weighting, finite_numbers
from .step import Step


class Fixed(Weighting):
    name = "fixed"

    def __init__(self, n_tasks: int = 2, weights: Sequence[float] | None = None):
        """``weights``: one per task; default upstream's (detection 1.0, classification 0.01) for two
        tasks, 1.0 for one. ValueError for a wrong count, a weight that is negative, NaN or infinite, or
        all weights 0 (nothing would train)."""
        super().__init__(n_tasks)
        if weights is None:
            weights = (1.0, 0.01) if n_tasks == 2 else (1.0,) * n_tasks
        try:
            count = len(weights)
        except TypeError:
            raise ValueError(f"weights must be a list of {n_tasks} numbers, got {weights!r}") from None
        if count != n_tasks:
            raise ValueError(f"Fixed needs one weight per task ({n_tasks}), got {list(weights)}")
        self.weights = finite_numbers("weights", weights, n_tasks, 0)
        if not any(self.weights):
            raise ValueError(f"weights must not all be 0 (no task would train), got {list(weights)}")

    def combine(self, losses, step: Step) -> StepInfo:
        L = torch.stack(losses)
        step.scaled((L * L.new_tensor(self.weights)).sum()).backward()
        return StepInfo(weights=list(self.weights))


class Equal(Fixed):
    name = "equal"

    def __init__(self, n_tasks: int = 2):
        super().__init__(n_tasks, [1.0] * n_tasks)

"""Static task weights: L = sum_i w_i L_i.

Upstream's "original architecture" trained with detection 1.0 and
classification 0.01; ``Equal`` is the plain sum.
"""
from __future__ import annotations

from typing import Sequence

import torch

from .base import StepInfo, Weighting


class Fixed(Weighting):
    name = "fixed"

    def __init__(self, n_tasks: int = 2, weights: Sequence[float] | None = None):
        """``weights``: one per task; default upstream's (detection 1.0, classification 0.01) for two
        tasks, 1.0 for one. ValueError for a wrong count or a negative weight."""
        super().__init__(n_tasks)
        if weights is None:
            weights = (1.0, 0.01) if n_tasks == 2 else (1.0,) * n_tasks
        if len(weights) != n_tasks:
            raise ValueError(f"Fixed needs one weight per task ({n_tasks}), got {list(weights)}")
        if any(w < 0 for w in weights):
            raise ValueError(f"Fixed weights must be non-negative, got {list(weights)}")
        self.weights = [float(w) for w in weights]

    def backward(self, losses, model, outputs=None, boundary=None) -> StepInfo:
        L = self._check(losses)
        (L * L.new_tensor(self.weights)).sum().backward()
        return StepInfo(weights=list(self.weights))


class Equal(Fixed):
    name = "equal"

    def __init__(self, n_tasks: int = 2):
        super().__init__(n_tasks, [1.0] * n_tasks)

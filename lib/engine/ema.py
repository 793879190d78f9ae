"""Exponential moving average of the weights, for evaluation: YOLOv5's ``ModelEMA``.

After every optimizer step (update number u = 1, 2, ...) every floating-point
parameter and buffer v of the average follows the model's x:

    d_u = decay * (1 - exp(-u / tau))        (a warm-up: early averages forget fast)
    v  <- d_u * v + (1 - d_u) * x

YOLOv5 (``utils/torch_utils.py``, ``ModelEMA``) uses decay 0.9999, tau 2000
and averages BatchNorm's running statistics with the weights; it evaluates and
saves the average. Here the average is a ``torch.optim.swa_utils.AveragedModel``
with that ramp as its ``avg_fn`` and ``use_buffers=True``; its first update
copies the model (YOLOv5's u = 1 gives d_1 = 0.9999 (1 - e^(-1/2000)) = 5e-4,
a copy to within that weight), so the average's update number n maps to
YOLOv5's u = n + 1. The project recalibrates BatchNorm before every
evaluation (``lib.evaluate.batchnorm``), on the average's own weights.
"""
from __future__ import annotations

import math

import torch
from torch.optim.swa_utils import AveragedModel


def ema_decay(updates: int, decay: float, tau: float) -> float:
    """d_u = decay (1 - exp(-u / tau)) for update number ``updates`` = u >= 1 (YOLOv5's ramp)."""
    return decay * (1 - math.exp(-updates / tau))


class ModelEMA(AveragedModel):
    """``AveragedModel`` whose average is YOLOv5's EMA. ``update(model)`` after each optimizer step;
    ``module`` is the averaged model; ``state_dict()`` holds it and the update count (``n_averaged``)."""

    def __init__(self, model: torch.nn.Module, decay: float = 0.9999, tau: float = 2000.0):
        if not 0 < decay < 1 or not tau > 0:
            raise ValueError(f"EMA needs 0 < decay < 1 and tau > 0, got decay={decay}, tau={tau}")
        self.decay, self.tau = float(decay), float(tau)

        def average(averaged: list[torch.Tensor], current: list[torch.Tensor], n_averaged: torch.Tensor) -> None:
            # called once per (device, dtype) group; integer buffers (BatchNorm's batch count) follow the model
            if not averaged[0].is_floating_point():
                for v, x in zip(averaged, current):
                    v.copy_(x)
                return
            d = ema_decay(int(n_averaged) + 1, self.decay, self.tau)
            for v, x in zip(averaged, current):
                v.mul_(d).add_(x, alpha=1 - d)

        super().__init__(model, multi_avg_fn=average, use_buffers=True)
        self.module.requires_grad_(False)

    def update(self, model: torch.nn.Module) -> None:
        self.update_parameters(model)

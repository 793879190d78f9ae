"""Dynamic Weight Average: Liu, Johns, Davison, "End-to-End Multi-Task Learning with Attention", CVPR 2019.

w_i(t) = T exp(r_i(t-1) / tau) / sum_j exp(r_j(t-1) / tau),  r_i(t-1) = L_i(t-1) / L_i(t-2),
with L_i(t) the mean training loss of epoch t; w = 1 for the first two epochs.
A task whose loss has stopped falling gets more weight.
"""
from __future__ import annotations

import torch

from .base import StepInfo, Weighting, finite_number
from .step import Step


class DWA(Weighting):
    name = "dwa"

    def __init__(self, n_tasks: int = 2, temperature: float = 2.0):
        """``temperature``: tau, finite and > 0 (ValueError otherwise); large tau tends to equal weights."""
        super().__init__(n_tasks)
        self.temperature = finite_number("temperature", temperature, 0, strict=True)
        self.epoch_means: list[list[float]] = []  # mean loss of each finished epoch (extra state)
        # the running epoch's sums, float64 (buffers: a step a GradScaler skips is taken back from them too)
        self.register_buffer("_sum", torch.zeros(n_tasks, dtype=torch.float64))
        self.register_buffer("_count", torch.zeros((), dtype=torch.int64))

    def current_weights(self) -> torch.Tensor:
        if len(self.epoch_means) < 2:
            return torch.ones(self.n_tasks)
        r = torch.tensor(self.epoch_means[-1]) / torch.tensor(self.epoch_means[-2])
        return self.n_tasks * torch.softmax(r / self.temperature, 0)

    def combine(self, losses, step: Step) -> StepInfo:
        L = torch.stack(losses)
        w = self.current_weights().to(L)
        step.scaled((w * L).sum()).backward()
        self._sum += step.reduce(L.detach()).double().to(self._sum.device)  # the global batch's losses
        self._count += 1
        return StepInfo(weights=w.tolist())

    def on_epoch_end(self) -> None:
        if self._count:
            self.epoch_means.append((self._sum.cpu() / int(self._count)).tolist())
        self._sum.zero_()
        self._count.zero_()

    def get_extra_state(self) -> dict:
        return {"epoch_means": [list(m) for m in self.epoch_means]}

    def set_extra_state(self, state: dict) -> None:
        self.epoch_means = [list(m) for m in state["epoch_means"]]

"""Dynamic Weight Average: Liu, Johns, Davison, "End-to-End Multi-Task Learning with Attention", CVPR 2019.

w_i(t) = T exp(r_i(t-1) / tau) / sum_j exp(r_j(t-1) / tau),  r_i(t-1) = L_i(t-1) / L_i(t-2),
with L_i(t) the mean training loss of epoch t; w = 1 for the first two epochs.
A task whose loss has stopped falling gets more weight.
"""
from __future__ import annotations

import torch

from ..engine.distributed import all_reduce_mean
from .base import StepInfo, Weighting, finite_number


class DWA(Weighting):
    name = "dwa"

    def __init__(self, n_tasks: int = 2, temperature: float = 2.0):
        """``temperature``: tau, finite and > 0 (ValueError otherwise); large tau tends to equal weights."""
        super().__init__(n_tasks)
        self.temperature = finite_number("temperature", temperature, 0, strict=True)
        self.epoch_means: list[list[float]] = []  # mean loss of each finished epoch
        self._sum = torch.zeros(n_tasks, dtype=torch.float64)
        self._count = 0

    def current_weights(self) -> torch.Tensor:
        if len(self.epoch_means) < 2:
            return torch.ones(self.n_tasks)
        r = torch.tensor(self.epoch_means[-1]) / torch.tensor(self.epoch_means[-2])
        return self.n_tasks * torch.softmax(r / self.temperature, 0)

    def backward(self, losses, model, outputs=None, boundary=None) -> StepInfo:
        L = self._check(losses)
        w = self.current_weights().to(L)
        self.scaled((w * L).sum()).backward()
        self._sum += all_reduce_mean(L.detach()).double().cpu()  # the global batch's losses
        self._count += 1
        return StepInfo(weights=w.tolist())

    def on_epoch_end(self) -> None:
        if self._count:
            self.epoch_means.append((self._sum / self._count).tolist())
        self._sum.zero_()
        self._count = 0

    def state_dict(self):
        # the running sums too: a step a GradScaler skips is taken back from them
        return {"epoch_means": [list(m) for m in self.epoch_means], "sum": self._sum.clone(), "count": self._count}

    def load_state_dict(self, state):
        self.epoch_means = [list(m) for m in state["epoch_means"]]
        self._sum = state["sum"].clone().double()
        self._count = int(state["count"])

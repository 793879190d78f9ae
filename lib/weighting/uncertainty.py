"""Uncertainty weighting: Kendall, Gal, Cipolla, CVPR 2018.

L = sum_i exp(-s_i) L_i + s_i, with s_i = log sigma_i^2 learned with the
network. For fixed losses the optimum is s_i = log L_i (weight 1 / L_i), so
each task's weighted loss is driven towards 1. (This is the common
log-variance form; Kendall's own regression form halves both terms.)
"""
from __future__ import annotations

import torch

from .base import StepInfo, Weighting, finite_number
from .step import Step


class Uncertainty(Weighting):
    name = "uw"

    def __init__(self, n_tasks: int = 2, initial_log_var: float = 0.0):
        """``initial_log_var``: s_i at the start (each weight exp(-s_i)), a finite number: ValueError otherwise."""
        super().__init__(n_tasks)
        s0 = finite_number("initial_log_var", initial_log_var)
        # learned with the network: it requires a gradient, so it joins the model's optimizer
        self.log_var = torch.nn.Parameter(torch.full((n_tasks,), s0))

    def combine(self, losses, step: Step) -> StepInfo:
        L = torch.stack(losses)
        if self.log_var.device != L.device:
            self.to(L.device)
        precision = torch.exp(-self.log_var)
        # the loop averages log_var's gradient over ranks with the model's: the global batch's
        step.scaled((precision * L + self.log_var).sum()).backward()
        return StepInfo(weights=precision.detach().tolist(), extra={f"log_var{i}": float(s) for i, s in enumerate(self.log_var.detach())})

"""FAMO, Fast Adaptive Multitask Optimization: Liu, Feng, Stone, Liu, NeurIPS 2023.

Task logits xi, z = softmax(xi). The network minimises
    sum_i z_i log(L_i - b_i) / c,   c = sum_i z_i / (L_i - b_i)   (b_i = 0: losses are >= 0)
so the effective weight of L_i is z_i / (c L_i). After a step, xi follows the
observed log-loss decrease delta_i = log L_i(before) - log L_i(after):
    xi <- Adam step on  J_softmax(xi)^T delta,   weight decay gamma,
which favours tasks that improve least. O(1) extra cost: no per-task backward.

The official code measures "after" with an extra forward pass on the same
batch. To keep the method cheap inside the common training loop we use the
next batch's losses as "after" (the update lags one step and sees batch
noise, which the Adam averaging smooths); this is noted in the report.
"""
from __future__ import annotations

import torch
import torch.nn.functional as F

from ..engine.distributed import all_reduce_mean
from .base import StepInfo, Weighting, finite_number, move_optimizer_state


class FAMO(Weighting):
    name = "famo"

    def __init__(self, n_tasks: int = 2, lr: float = 0.025, gamma: float = 0.01, eps: float = 1e-8):
        """``lr``: Adam step size of the logits xi (> 0). ``gamma``: their weight decay (>= 0). ``eps``: added to
        every loss before its logarithm (> 0, so a loss of 0 stays finite). All finite: ValueError otherwise."""
        super().__init__(n_tasks)
        lr = finite_number("lr", lr, 0, strict=True)
        gamma = finite_number("gamma", gamma, 0)
        self.eps = finite_number("eps", eps, 0, strict=True)
        self.xi = torch.nn.Parameter(torch.zeros(n_tasks))
        self.optimizer = torch.optim.Adam([self.xi], lr=lr, weight_decay=gamma)
        self.prev_losses: torch.Tensor | None = None

    def update(self, losses: torch.Tensor) -> None:
        """xi step from the log-loss decrease since the previous step."""
        if self.prev_losses is None:
            return
        delta = (self.prev_losses + self.eps).log() - (losses + self.eps).log()
        with torch.enable_grad():
            (d,) = torch.autograd.grad(F.softmax(self.xi, -1), self.xi, grad_outputs=delta)
        self.optimizer.zero_grad(set_to_none=True)
        self.xi.grad = d
        self.optimizer.step()

    def backward(self, losses, model, outputs=None, boundary=None) -> StepInfo:
        L = self._check(losses)
        if self.xi.device != L.device:
            self.to(L.device)
        L_global = all_reduce_mean(L.detach())  # what FAMO reads: the global batch's losses
        self.update(L_global)
        z = F.softmax(self.xi.detach(), -1)
        D = L_global + self.eps
        c = (z / D).sum()
        # d/dL_i of sum_j z_j log(L_j + eps) / c is z_i / (c (L_i + eps)): the weight of L_i, held constant
        weights = z / (c * D)
        self.scaled((weights * L).sum()).backward()
        self.prev_losses = L_global.clone()
        return StepInfo(weights=weights.tolist(), extra={f"famo_z{i}": float(v) for i, v in enumerate(z)})

    def state_dict(self):
        import copy
        return {"xi": self.xi.detach().cpu().clone(), "optimizer": copy.deepcopy(self.optimizer.state_dict()),
                "prev_losses": None if self.prev_losses is None else self.prev_losses.cpu().clone()}

    def to(self, device) -> "FAMO":
        self.xi.data = self.xi.data.to(device)
        move_optimizer_state(self.optimizer, device)
        if self.prev_losses is not None:
            self.prev_losses = self.prev_losses.to(device)
        return self

    def load_state_dict(self, state):
        device = self.xi.device
        self.xi.data = state["xi"].clone().to(device)
        self.optimizer.load_state_dict(state["optimizer"])
        move_optimizer_state(self.optimizer, device)
        self.prev_losses = None if state["prev_losses"] is None else state["prev_losses"].to(device)

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

import copy

import torch
import torch.nn.functional as F

from .base import StepInfo, Weighting, finite_number, move_optimizer_state
from .step import Step


class FAMO(Weighting):
    name = "famo"

    def __init__(self, n_tasks: int = 2, lr: float = 0.025, gamma: float = 0.01, eps: float = 1e-8):
        """``lr``: Adam step size of the logits xi (> 0). ``gamma``: their weight decay (>= 0). ``eps``: added to
        every loss before its logarithm (> 0, so a loss of 0 stays finite). All finite: ValueError otherwise."""
        super().__init__(n_tasks)
        lr = finite_number("lr", lr, 0, strict=True)
        gamma = finite_number("gamma", gamma, 0)
        self.eps = finite_number("eps", eps, 0, strict=True)
        # xi has its own optimizer (it follows the log-loss decrease, not the network loss): no gradient of the
        # network's loss reaches it, so it stays out of the model's optimizer
        self.xi = torch.nn.Parameter(torch.zeros(n_tasks), requires_grad=False)
        self.optimizer = torch.optim.Adam([self.xi], lr=lr, weight_decay=gamma)
        # the previous step's global losses, in float64: it holds losses of any precision exactly
        self.register_buffer("prev_losses", torch.zeros(n_tasks, dtype=torch.float64))
        self.register_buffer("steps", torch.zeros((), dtype=torch.int64))  # steps taken; 0: no previous losses

    def update(self, losses: torch.Tensor) -> None:
        """xi step from the log-loss decrease since the previous step."""
        if not self.steps:
            return
        delta = (self.prev_losses.to(losses) + self.eps).log() - (losses + self.eps).log()
        with torch.enable_grad():
            xi = self.xi.detach().requires_grad_()
            (d,) = torch.autograd.grad(F.softmax(xi, -1), xi, grad_outputs=delta)
        self.xi.grad = d
        move_optimizer_state(self.optimizer, self.xi.device)  # Adam's moments follow xi's device
        self.optimizer.step()

    def combine(self, losses, step: Step) -> StepInfo:
        L = torch.stack(losses)
        if self.xi.device != L.device:
            self.to(L.device)
        L_global = step.reduce(L.detach())  # what FAMO reads: the global batch's losses
        self.update(L_global)
        z = F.softmax(self.xi.detach(), -1)
        D = L_global + self.eps
        c = (z / D).sum()
        # d/dL_i of sum_j z_j log(L_j + eps) / c is z_i / (c (L_i + eps)): the weight of L_i, held constant
        weights = z / (c * D)
        step.scaled((weights * L).sum()).backward()
        self.prev_losses.copy_(L_global)
        self.steps += 1
        return StepInfo(weights=weights.tolist(), extra={f"famo_z{i}": float(v) for i, v in enumerate(z)})

    def get_extra_state(self) -> dict:
        # a copy: torch shares the 'step' tensor between an optimizer and a state_dict loaded from it
        return {"optimizer": copy.deepcopy(self.optimizer.state_dict())}

    def set_extra_state(self, state: dict) -> None:
        self.optimizer.load_state_dict(copy.deepcopy(state["optimizer"]))  # moves the moments to xi's device

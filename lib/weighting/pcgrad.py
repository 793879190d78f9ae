"""PCGrad, gradient surgery: Yu, Kumar, Gupta, Levine, Hausman, Finn, NeurIPS 2020, Alg. 1.

For each task i (random order) and each other task j (random order): if the
projected g_i conflicts with g_j (g_i . g_j < 0), remove its component along
g_j: g_i <- g_i - (g_i . g_j / |g_j|^2) g_j. The shared gradient is the sum
of the projected g_i; task-specific layers keep their own gradients.
"""
from __future__ import annotations

import torch

from .base import StepInfo, Weighting, set_shared_gradient, shared_task_gradients, whole_number
from .step import Step


def project_conflicting(grads: torch.Tensor, generator: torch.Generator | None = None) -> torch.Tensor:
    """PCGrad's combined gradient from per-task gradients ``grads`` (T, P)."""
    T = grads.shape[0]
    projected = grads.clone()
    for i in range(T):
        others = [j for j in torch.randperm(T, generator=generator).tolist() if j != i]
        for j in others:
            dot = torch.dot(projected[i], grads[j])
            if dot < 0:
                projected[i] -= dot / grads[j].pow(2).sum().clamp_min(1e-20) * grads[j]
    return projected.sum(0)


class PCGrad(Weighting):
    name = "pcgrad"

    def __init__(self, n_tasks: int = 2, seed: int = 0):
        """``seed``: of the random task order, an integer >= 0 (ValueError otherwise)."""
        super().__init__(n_tasks)
        # the task order's generator: on the CPU (its state is a CPU tensor), checkpointed as extra state
        self.generator = torch.Generator().manual_seed(whole_number("seed", seed, 0))

    def combine(self, losses, step: Step) -> StepInfo:
        grads = shared_task_gradients(losses, step)  # global, unscaled
        conflict = 0.0
        if grads.shape[1]:
            if self.n_tasks == 2:
                conflict = float(torch.dot(grads[0], grads[1]) < 0)
            set_shared_gradient(step.model, project_conflicting(grads, self.generator) * step.scale)
        return StepInfo(weights=[1.0] * self.n_tasks, extra={"pcgrad_conflict": conflict})

    def get_extra_state(self) -> dict:
        return {"generator": self.generator.get_state()}

    def set_extra_state(self, state: dict) -> None:
        self.generator.set_state(state["generator"])

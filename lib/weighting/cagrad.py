"""Conflict-Averse Gradient descent: Liu, Liu, Jin, Stone, Liu, NeurIPS 2021.

Find the update d that maximises the worst task improvement min_i <g_i, d>
within a ball around the average gradient g0: ||d - g0|| <= c ||g0||. Its
dual is a problem over the simplex:

    min_w  w^T G g0 + c ||g0|| ||G^T w||,   then  d = g0 + c ||g0|| / ||G^T w|| * G^T w,

solved here by projected gradient descent on the simplex (the problem is
convex; the official code calls scipy's SLSQP), and d is rescaled by
1 / (1 + c^2) as in the official implementation (rescale=1).
"""
from __future__ import annotations

import torch

from .base import StepInfo, Weighting, finite_number, set_shared_gradient, shared_task_gradients
from .step import Step


def project_to_simplex(v: torch.Tensor) -> torch.Tensor:
    """Euclidean projection onto {w >= 0, sum w = 1} (Duchi et al. 2008)."""
    u, _ = torch.sort(v, descending=True)
    css = u.cumsum(0) - 1
    k = torch.arange(1, len(v) + 1, dtype=v.dtype)
    rho = int((u - css / k > 0).nonzero().max())
    return (v - css[rho] / (rho + 1)).clamp_min(0)


def cagrad_direction(grads: torch.Tensor, c: float = 0.5, iters: int = 200) -> tuple[torch.Tensor, torch.Tensor]:
    """CAGrad update from per-task gradients (T, P); returns (d, simplex weights w)."""
    GG = (grads @ grads.T).double().cpu()
    T = GG.shape[0]
    g0_norm = (GG.mean() + 1e-12).sqrt()
    radius = c * g0_norm
    b = GG.mean(1)  # G g0 with g0 = mean_i g_i
    w = torch.full((T,), 1.0 / T, dtype=torch.float64)
    step = 1.0 / (GG.diagonal().max() + radius * GG.diagonal().max().sqrt() / (g0_norm + 1e-12) + 1e-12)
    for _ in range(iters):
        gw_norm = (w @ GG @ w + 1e-12).sqrt()
        grad = b + radius * (GG @ w) / gw_norm
        w = project_to_simplex(w - step * grad)
    gw = (w.to(grads) @ grads)
    d = grads.mean(0) + float(radius) / (gw.norm() + 1e-12) * gw
    return d / (1 + c ** 2), w


class CAGrad(Weighting):
    name = "cagrad"

    def __init__(self, n_tasks: int = 2, c: float = 0.4):
        """``c``: radius of the ball around the average gradient, relative to its norm; finite, >= 0 (0: the
        average gradient). ValueError otherwise."""
        super().__init__(n_tasks)
        self.c = finite_number("c", c, 0)

    def combine(self, losses, step: Step) -> StepInfo:
        grads = shared_task_gradients(losses, step)  # global, unscaled
        w = torch.full((self.n_tasks,), 1.0 / self.n_tasks)
        if grads.shape[1] and not torch.isfinite(grads).all():
            # an overflowing float16 step: no dual problem to solve; the non-finite sum goes on, so the
            # GradScaler skips the step (without a scaler the loop stops on the non-finite values)
            set_shared_gradient(step.model, grads.sum(0) * step.scale)
        elif grads.shape[1]:
            d, w = cagrad_direction(grads, self.c)
            set_shared_gradient(step.model, d * (self.n_tasks * step.scale))  # same scale as the summed loss of the other methods
        return StepInfo(weights=[1.0] * self.n_tasks, extra={f"cagrad_w{i}": float(x) for i, x in enumerate(w)})

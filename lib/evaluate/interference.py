"""Measured gradient interference between tasks on the shared parameters.

For task gradients g_1, g_2 on the shared parameters:
  cosine similarity  cos = <g_1, g_2> / (|g_1| |g_2|)      (conflict when < 0)
  gradient magnitude similarity  GMS = 2 |g_1| |g_2| / (|g_1|^2 + |g_2|^2)
(Yu et al., "Gradient Surgery for Multi-Task Learning", NeurIPS 2020, Def. 1-2).
"""
from __future__ import annotations

import math
from typing import Sequence

import torch


def task_gradients(losses: Sequence[torch.Tensor], params: Sequence[torch.Tensor], boundary=None) -> list[torch.Tensor]:
    """Flattened gradient of each loss w.r.t. ``params`` (zeros where a loss does not reach a parameter).

    With a ``boundary`` (``lib.models.Boundary``: the heads read leaf copies of the trunk's outputs)
    ``params`` must be trunk parameters: each loss is differentiated to the boundary, then through the trunk.
    """
    out = []
    for loss in losses:
        if boundary is None:
            grads = torch.autograd.grad(loss, params, retain_graph=True, allow_unused=True)
        else:
            at_inputs = torch.autograd.grad(loss, boundary.inputs, retain_graph=True, allow_unused=True)
            grads = boundary.trunk_gradients(at_inputs, params)
        out.append(torch.cat([(g if g is not None else torch.zeros_like(p)).reshape(-1) for g, p in zip(grads, params)]))
    return out


def pair_statistics(g1: torch.Tensor, g2: torch.Tensor) -> dict[str, float]:
    n1, n2 = float(g1.norm()), float(g2.norm())
    if n1 == 0.0 or n2 == 0.0:
        cos = math.nan
    else:
        cos = float(torch.dot(g1, g2)) / (n1 * n2)
    gms = 2 * n1 * n2 / (n1 ** 2 + n2 ** 2) if (n1 or n2) else math.nan
    return {"grad_cos": cos, "grad_gms": gms, "grad_norm_det": n1, "grad_norm_view": n2}


def measure(losses: Sequence[torch.Tensor], shared: Sequence[torch.Tensor], boundary=None) -> dict[str, float]:
    """Interference statistics of two task losses on the shared parameters (NaN when nothing is shared)."""
    if len(losses) != 2 or not shared:
        return {"grad_cos": math.nan, "grad_gms": math.nan, "grad_norm_det": math.nan, "grad_norm_view": math.nan}
    g1, g2 = task_gradients(losses, list(shared), boundary)
    return pair_statistics(g1, g2)

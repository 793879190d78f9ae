"""Measured gradient interference between tasks on the shared parameters.

For task gradients g_1, g_2 on the shared parameters:
  cosine similarity  cos = <g_1, g_2> / (|g_1| |g_2|)      (conflict when < 0)
  gradient magnitude similarity  GMS = 2 |g_1| |g_2| / (|g_1|^2 + |g_2|^2)
(Yu et al., "Gradient Surgery for Multi-Task Learning", NeurIPS 2020, Def. 1-2).

Given the shared layers (``MultiTaskModel.shared_layers``), the cosine is also taken per layer, on
each layer's slice of the two gradients: ``grad_cos.<layer>``. A whole-trunk cosine near zero can
hide layers that conflict and layers that agree (the early, generic layers usually agree; the
last ones are where task-specific features compete).
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


def layer_cosines(g1: torch.Tensor, g2: torch.Tensor, sizes: Sequence[tuple[str, int]]) -> dict[str, float]:
    """``grad_cos.<name>`` per consecutive slice of ``sizes`` ((name, elements) in the gradients' order); NaN
    where either slice is zero. Raises ``ValueError`` when the sizes do not add up to the gradients' length."""
    if sum(n for _, n in sizes) != g1.numel():
        raise ValueError(f"layer sizes add up to {sum(n for _, n in sizes)}, the gradient has {g1.numel()} elements")
    out, start = {}, 0
    for name, n in sizes:
        out[f"grad_cos.{name}"] = pair_statistics(g1[start:start + n], g2[start:start + n])["grad_cos"]
        start += n
    return out


def measure(losses: Sequence[torch.Tensor], shared: Sequence[torch.Tensor], boundary=None,
            layers: Sequence[tuple[str, Sequence[torch.Tensor]]] | None = None) -> dict[str, float]:
    """Interference statistics of two task losses on the shared parameters (NaN when nothing is shared).
    With ``layers`` (``MultiTaskModel.shared_layers()``: the same parameters, grouped and in the same order)
    also one cosine per layer (``layer_cosines``)."""
    if len(losses) != 2 or not shared:
        return {"grad_cos": math.nan, "grad_gms": math.nan, "grad_norm_det": math.nan, "grad_norm_view": math.nan}
    g1, g2 = task_gradients(losses, list(shared), boundary)
    out = pair_statistics(g1, g2)
    if layers:
        out.update(layer_cosines(g1, g2, [(name, sum(p.numel() for p in ps)) for name, ps in layers]))
    return out

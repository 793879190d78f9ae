"""The trunk/head boundary as a value: per-task gradients taken where the tasks part ways.

``forward_with_boundary(model, x)`` runs the trunk, gives the heads *leaf
copies* of its outputs (LibMTL's ``_prepare_rep``), and returns the outputs
with a ``Boundary``. Because the heads read leaves, the gradient of a task
loss with respect to ``boundary.inputs`` is that task's direct use of each
trunk tensor and nothing else (no path back into the trunk can be counted
twice, even where one trunk output is computed from another), and no graph
tensor is ever stored on the model.

The heads' backward stops at the leaves: whoever uses a boundary must send
the combined gradient on through the trunk with ``Boundary.backward``.
"""
from __future__ import annotations

from dataclasses import dataclass
from typing import Sequence

import torch
from torch import Tensor


@dataclass(frozen=True)
class Boundary:
    features: tuple[Tensor, ...]  # the trunk's outputs, in the autograd graph of the trunk
    inputs: tuple[Tensor, ...]    # leaf copies of ``features`` that the heads read (requires_grad)

    def _pairs(self, grads: Sequence[Tensor | None]) -> list[tuple[Tensor, Tensor]]:
        """(trunk output, its gradient) for each boundary tensor that received one."""
        return [(f, g) for f, g in zip(self.features, grads) if g is not None]

    def trunk_gradients(self, grads: Sequence[Tensor | None], params: Sequence[Tensor]) -> tuple[Tensor | None, ...]:
        """Gradients of ``params`` (trunk parameters) given gradients at ``inputs``; the graph is kept."""
        pairs = self._pairs(grads)
        if not pairs:
            return tuple(None for _ in params)
        return torch.autograd.grad([f for f, _ in pairs], list(params), grad_outputs=[g for _, g in pairs],
                                   retain_graph=True, allow_unused=True)

    def backward(self, grads: Sequence[Tensor | None]) -> None:
        """Send gradients at ``inputs`` through the trunk, accumulating into its parameters' ``.grad``."""
        pairs = self._pairs(grads)
        if pairs:
            torch.autograd.backward([f for f, _ in pairs], grad_tensors=[g for _, g in pairs])


def forward_with_boundary(model, x: Tensor):
    """``(outputs, Boundary)``: the model's outputs computed by its heads from leaf copies of the trunk's."""
    features = tuple(model.forward_trunk(x))
    inputs = tuple(f.detach().requires_grad_(f.requires_grad) for f in features)
    return model.forward_heads(inputs), Boundary(features, inputs)

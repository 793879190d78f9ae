"""The contract between a multi-task model and the weighting methods, the trainer and the report.

A weighting (``lib.weighting``) never looks inside a model. It reads:

* ``tasks``: task names, in the order of the loss list (``("det", "view")`` here);
* ``shared_parameters()``: parameters that more than one task trains (where gradients can interfere);
* ``task_parameters(task)``: parameters that only ``task`` trains;
* ``norm_parameters(task)``: GradNorm's W for ``task`` (Chen et al. 2018, sec. 3.1: the last shared layer);
* the trunk/head boundary: ``forward_trunk(x)`` returns the tensors every head reads, and
  ``forward_heads(features)`` computes every output from those tensors alone.

Rules every model keeps (``tests/helpers/model_contract.py`` checks them for each model):

1. ``forward(x) == forward_heads(forward_trunk(x))``.
2. Shared and task parameters partition the model's trainable parameters: their union is every
   parameter and no parameter belongs to two of the sets.
3. Nothing computed in a forward pass is kept on a module, so a model can always be deep-copied
   (``copy.deepcopy``, EMA, ``torch.optim.swa_utils.AveragedModel``). The boundary is a *value*:
   ``lib.models.boundary.forward_with_boundary`` feeds the heads leaf copies of the trunk outputs
   (LibMTL's ``_prepare_rep``), so a task's gradient at the boundary is exact by construction.
"""
from __future__ import annotations

from typing import Sequence

import torch
from torch import nn


def count_parameters(module: nn.Module | None) -> int:
    return 0 if module is None else sum(p.numel() for p in module.parameters())


class MultiTaskModel(nn.Module):
    """Base class. Subclasses set ``tasks`` and implement the part methods below."""

    tasks: tuple[str, ...] = ()

    def forward_trunk(self, x: torch.Tensor) -> tuple[torch.Tensor, ...]:
        """The shared computation: the tensors the task heads read (the trunk/head boundary)."""
        raise NotImplementedError

    def forward_heads(self, features: Sequence[torch.Tensor]):
        """Every task output, computed from ``features`` (what ``forward_trunk`` returned) alone."""
        raise NotImplementedError

    def forward(self, x):
        return self.forward_heads(self.forward_trunk(x))

    def shared_modules(self) -> list[nn.Module]:
        """Modules whose parameters receive the gradient of more than one task."""
        raise NotImplementedError

    def task_modules(self, task: str) -> list[nn.Module]:
        """Modules that only ``task`` trains."""
        raise NotImplementedError

    def norm_layer(self, task: str) -> nn.Module:
        """GradNorm's W for ``task``: the layer whose weight gradient norm it balances.

        On a shared model this is the last shared layer, the same for every
        task (Chen et al. 2018, sec. 3.1). Where a task shares nothing (dual
        backbone, detached head) it is that task's own last trunk layer.
        """
        raise NotImplementedError

    # -- derived -------------------------------------------------------------
    def shared_parameters(self) -> list[nn.Parameter]:
        return [p for m in self.shared_modules() for p in m.parameters() if p.requires_grad]

    def shared_layers(self) -> list[tuple[str, list[nn.Parameter]]]:
        """``shared_parameters()`` grouped by layer, in the same order: (name, parameters) per child module of each
        shared module that has trainable parameters, named by its attribute path (``backbone.stage3``,
        ``fpn.out``). A shared module without children is one layer."""
        names = {id(m): n for n, m in self.named_modules()}
        out = []
        for m in self.shared_modules():
            children = [(f"{names[id(m)]}.{n}", c) for n, c in m.named_children()] or [(names[id(m)], m)]
            for name, c in children:
                params = [p for p in c.parameters() if p.requires_grad]
                if params:
                    out.append((name, params))
        return out

    def task_parameters(self, task: str) -> list[nn.Parameter]:
        return [p for m in self.task_modules(task) for p in m.parameters() if p.requires_grad]

    def norm_parameters(self, task: str) -> list[nn.Parameter]:
        """The W layer's weight (its bias is left out, as in Chen et al.'s W)."""
        return [self.norm_layer(task).weight]

    def last_shared_layer(self) -> nn.Module | None:
        """The last layer every task's gradient flows through (None if nothing is shared)."""
        layers = {id(self.norm_layer(t)) for t in self.tasks}
        shared = {id(p) for p in self.shared_parameters()}
        if len(layers) == 1 and all(id(p) in shared for p in self.norm_parameters(self.tasks[0])):
            return self.norm_layer(self.tasks[0])
        return None

    def parameter_counts(self) -> dict[str, int]:
        """Parameters per part: shared, one entry per task, and total."""
        counts = {"shared": sum(count_parameters(m) for m in self.shared_modules())}
        for t in self.tasks:
            counts[t] = sum(count_parameters(m) for m in self.task_modules(t))
        counts["total"] = count_parameters(self)
        return counts

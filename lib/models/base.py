"""What every multi-task model tells the weighting methods and the report.

A weighting (``lib.weighting``) never looks inside a model: it asks for the
shared parameters (where task gradients can interfere) and, per task, the
parameters on which GradNorm measures gradient norms (``probe_parameters``).
"""
from __future__ import annotations

from torch import nn


def count_parameters(module: nn.Module | None) -> int:
    return 0 if module is None else sum(p.numel() for p in module.parameters())


class MultiTaskModel(nn.Module):
    """Mixin contract. Subclasses set ``tasks`` and implement the three part methods."""

    tasks: tuple[str, ...] = ()

    def shared_modules(self) -> list[nn.Module]:
        """Modules whose parameters receive the gradient of more than one task."""
        raise NotImplementedError

    def task_modules(self, task: str) -> list[nn.Module]:
        """Modules that only ``task`` trains."""
        raise NotImplementedError

    def probe_module(self, task: str) -> nn.Module:
        """The layer whose weight gradient GradNorm measures for ``task``.

        On a shared model this is the last shared layer, the same for every
        task (Chen et al. 2018, sec. 3.1). Where a task shares nothing (dual
        backbone, detached head) it is that task's own last trunk layer.
        """
        raise NotImplementedError

    def shared_outputs(self) -> tuple | None:
        """The trunk's output tensors that the task heads read, from the latest forward pass.

        Optional (None: not exposed). With them a weighting can take each task's
        gradient at the hand-over point once and send one combined gradient
        back through the trunk (GradNorm's fast path).
        """
        return None

    # -- derived -------------------------------------------------------------
    def shared_parameters(self) -> list[nn.Parameter]:
        return [p for m in self.shared_modules() for p in m.parameters() if p.requires_grad]

    def task_parameters(self, task: str) -> list[nn.Parameter]:
        return [p for m in self.task_modules(task) for p in m.parameters() if p.requires_grad]

    def probe_parameters(self, task: str) -> list[nn.Parameter]:
        """The probe layer's weight (its bias is left out, as in Chen et al.'s W)."""
        return [self.probe_module(task).weight]

    def last_shared_layer(self) -> nn.Module | None:
        """The last layer every task's gradient flows through (None if nothing is shared)."""
        probes = {id(self.probe_module(t)) for t in self.tasks}
        shared = {id(p) for p in self.shared_parameters()}
        if len(probes) == 1 and all(id(p) in shared for p in self.probe_parameters(self.tasks[0])):
            return self.probe_module(self.tasks[0])
        return None

    def parameter_counts(self) -> dict[str, int]:
        """Parameters per part: shared, one entry per task, and total."""
        counts = {"shared": sum(count_parameters(m) for m in self.shared_modules())}
        for t in self.tasks:
            counts[t] = sum(count_parameters(m) for m in self.task_modules(t))
        counts["total"] = count_parameters(self)
        return counts

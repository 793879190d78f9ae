"""The synthetic regression network of GradNorm's section 5.1 (Chen et al., ICML 2018).

A shared 4-layer fully connected ReLU trunk (100 units) and one affine head
per task. Data: f_i(x) = sigma_i * tanh((B + eps_i) x) (see ``lib.experiments.gradnorm_paper``).
"""
from __future__ import annotations

from torch import nn

from .base import MultiTaskModel


class PaperToyModel(MultiTaskModel):
    def __init__(self, n_tasks: int, d_in: int = 250, d_out: int = 100, hidden: int = 100, depth: int = 4):
        super().__init__()
        self.tasks = tuple(f"task{i}" for i in range(n_tasks))
        layers: list[nn.Module] = []
        for i in range(depth):
            layers += [nn.Linear(d_in if i == 0 else hidden, hidden), nn.ReLU()]
        self.trunk = nn.Sequential(*layers)
        self.heads = nn.ModuleList(nn.Linear(hidden, d_out) for _ in range(n_tasks))

    def forward_trunk(self, x):
        return (self.trunk(x),)

    def forward_heads(self, features):
        (z,) = features
        return [head(z) for head in self.heads]

    def shared_modules(self):
        return [self.trunk]

    def task_modules(self, task):
        return [self.heads[self.tasks.index(task)]]

    def norm_layer(self, task):
        return self.trunk[-2]  # the last shared Linear

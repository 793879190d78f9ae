"""The upstream report's toy network (UPSTREAM_FINDINGS: 'Why the upstream report's numbers are artefacts').

Conv2d(3->32, 3x3, pad 1) -> BatchNorm(32) -> ReLU -> global average pool ->
two Linear(32->4) heads: 896 + 64 + 2 x 132 = 1,224 parameters. Kept only to
replay the upstream report's GradNorm table; it has nothing to do with detection.
"""
from __future__ import annotations

from torch import nn

from ..models.base import MultiTaskModel


class UpstreamToyModel(MultiTaskModel):
    def __init__(self, n_out: int = 4, width: int = 32):
        super().__init__()
        self.tasks = ("det", "view")
        self.conv = nn.Conv2d(3, width, 3, padding=1)
        self.bn = nn.BatchNorm2d(width)
        self.pool = nn.Sequential(nn.ReLU(), nn.AdaptiveAvgPool2d(1), nn.Flatten())
        self.det_head = nn.Linear(width, n_out)
        self.view_head = nn.Linear(width, n_out)

    def forward_trunk(self, x):
        return (self.pool(self.bn(self.conv(x))),)

    def forward_heads(self, features):
        (z,) = features
        return self.det_head(z), self.view_head(z)

    def shared_modules(self):
        return [self.conv, self.bn]

    def task_modules(self, task):
        return [{"det": self.det_head, "view": self.view_head}[task]]

    def norm_layer(self, task):
        return self.bn  # the last shared layer with weights

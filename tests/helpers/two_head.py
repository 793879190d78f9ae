"""``TwoHead``: the smallest two-task model, whose gradients GradNorm's and the other weightings' tests
compute by hand."""
import torch
from torch import nn

from lib.models.base import MultiTaskModel


class TwoHead(MultiTaskModel):
    """z = W x (the shared layer), y_i = h_i z; everything bias-free so gradients are by hand."""

    def __init__(self, w=2.0, h=(3.0, 1.0), d=1):
        super().__init__()
        self.tasks = ("a", "b")
        self.shared = nn.Linear(d, d, bias=False)
        self.heads = nn.ModuleList(nn.Linear(d, 1, bias=False) for _ in h)
        with torch.no_grad():
            self.shared.weight.fill_(w)
            for head, v in zip(self.heads, h):
                head.weight.fill_(v)

    def forward_trunk(self, x):
        return (self.shared(x),)

    def forward_heads(self, features):
        return [head(features[0]) for head in self.heads]

    def shared_modules(self):
        return [self.shared]

    def task_modules(self, task):
        return [self.heads[self.tasks.index(task)]]

    def norm_layer(self, task):
        return self.shared


def two_task_grads(model, x, targets):
    ya, yb = model(x)
    return [(ya - targets[0]).pow(2).mean(), (yb - targets[1]).pow(2).mean()]

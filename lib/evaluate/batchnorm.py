"""Precise BatchNorm: recompute the running statistics with the current weights before evaluating.

YOLOv5's BN momentum (0.03) tracks features that change quickly in a short
run too slowly: eval-mode accuracy then falls far below train-mode accuracy.
Averaging the statistics over a fixed set of training images before each
evaluation removes the lag (Wu & Johnson, "Rethinking 'Batch' in BatchNorm",
2021, sec. 3); ``torch.optim.swa_utils.update_bn`` does the averaging.
"""
from __future__ import annotations

import torch

from ..data import make_loader


def recalibrate_batchnorm(model: torch.nn.Module, dataset, n_images: int, batch_size: int, device) -> None:
    """Running mean/var of every BatchNorm over the first ``n_images`` of ``dataset`` (0: leave as is)."""
    n = min(n_images, len(dataset))
    if n == 0:
        return
    subset = torch.utils.data.Subset(dataset, range(n))
    loader = make_loader(subset, batch_size, shuffle=False, seed=0)
    torch.optim.swa_utils.update_bn((b.images.to(device) for b in loader), model)

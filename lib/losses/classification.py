"""View classification loss: cross-entropy on the one-hot view label (stored as an index)."""
from __future__ import annotations

import torch
import torch.nn.functional as F


def view_loss(logits: torch.Tensor, views: torch.Tensor) -> torch.Tensor:
    return F.cross_entropy(logits, views.to(logits.device))

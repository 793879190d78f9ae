"""The network's optimizer and learning-rate schedule (AdamW, warm-up then cosine), as YOLOv5 groups them."""
from __future__ import annotations

import math

import torch

from ..config import TrainConfig


def param_groups(model: torch.nn.Module, weight_decay: float) -> list[dict]:
    """Weight decay on conv/linear weights only, not on BatchNorm or biases (as YOLOv5)."""
    decay, no_decay = [], []
    for p in model.parameters():
        (decay if p.dim() > 1 else no_decay).append(p)
    return [{"params": decay, "weight_decay": weight_decay}, {"params": no_decay, "weight_decay": 0.0}]


def lr_lambda(cfg: TrainConfig, steps_per_epoch: int):
    """Multiplier of the peak rate at each step: linear warm-up from 10% of the peak over
    ``warmup_epochs``, then cosine decay to ``final_lr_ratio`` of it at the last step."""
    warm = max(1, int(cfg.warmup_epochs * steps_per_epoch))
    total = max(cfg.epochs * steps_per_epoch, warm + 1)

    def f(step: int) -> float:
        if step < warm:
            return 0.1 + 0.9 * step / warm
        progress = (step - warm) / (total - warm)
        return cfg.final_lr_ratio + (1 - cfg.final_lr_ratio) * 0.5 * (1 + math.cos(math.pi * min(progress, 1.0)))

    return f


def build_optimizer(cfg: TrainConfig, model: torch.nn.Module, extra: list[torch.Tensor] = ()) -> torch.optim.AdamW:
    """AdamW over the model (YOLOv5's decay groups) and any learnable tensors of the weighting (no decay)."""
    groups = param_groups(model, cfg.weight_decay)
    if extra:
        groups.append({"params": list(extra), "weight_decay": 0.0})
    return torch.optim.AdamW(groups, lr=cfg.lr, foreach=True)


def build_scheduler(cfg: TrainConfig, optimizer: torch.optim.Optimizer, steps_per_epoch: int):
    """Stepped once per optimizer step (``lr_lambda``)."""
    return torch.optim.lr_scheduler.LambdaLR(optimizer, lr_lambda(cfg, steps_per_epoch))

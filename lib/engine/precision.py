"""Numeric precision of a training step: one autocast path for every device, and the memory format.

    with autocast(device, "bf16"):     # forward pass and task losses
        outputs = model(images)
        losses = ...
    weighting.backward(losses, ...)    # outside, as YOLOv5's train.py does it

``amp`` (``TrainConfig.amp``): ``"off"`` is float32 throughout (the reference numerics); ``"bf16"``
autocasts the forward pass and the losses to bfloat16 (no loss scaling: float32's exponent range);
``"fp16"`` autocasts to float16 with a ``torch.amp.GradScaler`` (``grad_scaler``). Parameters, optimizer
state and everything a weighting reads stay float32; evaluation always runs in float32. ``memory_format``
``"channels_last"`` stores 4-d weights and batches NHWC. What each means for the weighting methods and how
it is tested: docs/distributed.md (Mixed precision).

Source: PyTorch's automatic mixed precision recipe (``torch.amp``) and YOLOv5 ``train.py`` (autocast around
forward and loss, backward outside).
"""
from __future__ import annotations

import contextlib

import torch

from ..config import check_amp


def autocast(device: torch.device, amp: str):
    """The context a forward pass and its losses run in: ``torch.autocast`` for ``bf16`` and ``fp16``, else
    nothing."""
    if amp == "off":
        return contextlib.nullcontext()
    check_amp(amp, device.type)
    return torch.autocast(device.type, dtype=torch.bfloat16 if amp == "bf16" else torch.float16)


def grad_scaler(device: torch.device, amp: str) -> torch.amp.GradScaler | None:
    """A ``torch.amp.GradScaler`` for ``fp16`` (PyTorch's defaults: initial scale 2^16, halved on overflow,
    doubled after 2000 good steps), else None: float32 and bfloat16 need no loss scaling."""
    return torch.amp.GradScaler(device.type) if amp == "fp16" else None


def to_memory_format(x: torch.Tensor | torch.nn.Module, memory_format: str):
    """``x`` (a module, or a 4-d batch) in ``memory_format``; other tensors unchanged."""
    if memory_format != "channels_last":
        return x
    if isinstance(x, torch.nn.Module):
        return x.to(memory_format=torch.channels_last)
    return x.contiguous(memory_format=torch.channels_last) if x.dim() == 4 else x

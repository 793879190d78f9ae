"""Numeric precision of a training step: one autocast path for every device, and the memory format.

    with autocast(device, "bf16"):     # forward pass and task losses
        outputs = model(images)
        losses = ...
    weighting.backward(losses, ...)    # outside, as YOLOv5's train.py does it

``amp`` (``TrainConfig.amp``):

- ``"off"``: float32 throughout (the reference numerics; the tests against
  YOLOv5 run here).
- ``"bf16"``: ``torch.autocast(device_type, dtype=torch.bfloat16)`` over the
  forward pass and the losses, on the CPU (AMX-BF16/AVX-512-BF16 where the CPU
  has them) or on CUDA. Parameters, optimizer state, gradients of parameters
  and everything a weighting method reads (its losses, gradient norms on
  parameters) stay float32: autocast casts the weights for each op and
  autograd casts the gradient back. bfloat16 has float32's exponent range, so
  no loss scaling is needed.
- ``"fp16"``: ``torch.autocast(device_type, dtype=torch.float16)`` with a
  ``torch.amp.GradScaler`` (``grad_scaler``): float16's narrow range would
  flush small gradients to zero, so the objective is multiplied by the
  scaler's scale S before backward and the gradients divided by S
  (``unscale_``) before clipping and the step; a step whose gradients
  overflow is skipped and S halved. Weighting methods read unscaled
  quantities and a skipped step skips their update too (``lib.weighting.base``).
  Meant for CUDA; it also runs on the CPU (slowly), where the tests check it.

The CUDA path is the same code; it has not been run on a GPU in this
project yet.

Evaluation (BatchNorm recalibration, validation and test metrics) always runs
in float32, so a run's scores measure its weights, not the arithmetic of its
steps.

``memory_format`` (``TrainConfig.memory_format``): ``"channels_last"`` stores
the model's 4-d weights and the input batch NHWC, the layout oneDNN's CPU
convolutions and cuDNN's tensor-core kernels prefer; values are the same,
the order of floating-point operations inside a convolution may differ.

Source: PyTorch's automatic mixed precision recipe (``torch.amp``) and
YOLOv5 ``train.py`` (autocast around forward and loss, backward outside).
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

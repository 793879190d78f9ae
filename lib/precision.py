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
- ``"fp16"`` (float16 autocast) needs ``torch.amp.GradScaler`` and weightings
  that read unscaled gradients: refused, naming why, until that exists.

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

AMP_MODES = ("off", "bf16")  # "fp16" is named in check_amp's refusal, not offered
MEMORY_FORMATS = ("contiguous", "channels_last")


def check_amp(amp: str, device_type: str) -> None:
    """``ValueError`` naming the setting when ``amp`` cannot run on a device of ``device_type`` ("cpu", "cuda", ...)."""
    if amp == "fp16":
        raise ValueError("amp='fp16' needs torch.amp.GradScaler with unscaled gradients for the weighting "
                         "methods, which this project does not have yet; use amp='bf16' (no scaler needed)")
    if amp == "bf16" and device_type not in ("cpu", "cuda"):
        raise ValueError(f"amp='bf16' runs on cpu or cuda, not {device_type}")
    if amp not in AMP_MODES:
        raise ValueError(f"amp must be one of {', '.join(AMP_MODES)}; got {amp!r}")


def autocast(device: torch.device, amp: str):
    """The context a forward pass and its losses run in: ``torch.autocast`` for ``bf16``, else nothing."""
    if amp == "off":
        return contextlib.nullcontext()
    check_amp(amp, device.type)
    return torch.autocast(device.type, dtype=torch.bfloat16)


def to_memory_format(x: torch.Tensor | torch.nn.Module, memory_format: str):
    """``x`` (a module, or a 4-d batch) in ``memory_format``; other tensors unchanged."""
    if memory_format != "channels_last":
        return x
    if isinstance(x, torch.nn.Module):
        return x.to(memory_format=torch.channels_last)
    return x.contiguous(memory_format=torch.channels_last) if x.dim() == 4 else x

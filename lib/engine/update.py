"""One optimizer step from the task losses, for any weighting, in one process or several, in any precision.

    info, skipped = apply_update(weighting, losses, model, optimizer, scaler=scaler, grad_clip=10.0)

In order: the weighting's ``backward`` with a ``lib.weighting.Step`` built here (model, boundary, outputs,
the GradScaler's scale, ``all_reduce_mean``); ``average_gradients`` over ranks; with a scaler ``unscale_``,
and on a non-finite gradient the weighting's ``state_dict`` from before the step is put back (the scaler
skips the step), otherwise ``before_step(info)``; clipping (YOLOv5's max-norm 10); the optimizer step.
With ``ECHO_MTL_CHECK_RANKS=1`` the weights, the weighting's state and torch's generator are compared
across ranks after the step (``RuntimeError`` on a difference).

Source: PyTorch's AMP recipe (``torch.amp.GradScaler``: scale, unscale_ before clipping, step, update) and
YOLOv5 ``train.py`` (the order of the same calls).
"""
from __future__ import annotations

import copy
from typing import Callable, Sequence

import torch

from .distributed import all_reduce_mean, average_gradients, check_identical, checking_ranks, world
from ..weighting import Step, StepInfo, Weighting


def optimizer_parameters(optimizer: torch.optim.Optimizer) -> list[torch.Tensor]:
    return [p for group in optimizer.param_groups for p in group["params"]]


def gradients_finite(params: Sequence[torch.Tensor]) -> bool:
    """Whether every gradient in ``params`` is finite (what GradScaler's ``unscale_`` checks)."""
    flags = [torch.isfinite(p.grad).all() for p in params if p.grad is not None]
    return bool(torch.stack(flags).all()) if flags else True


def apply_update(weighting: Weighting, losses: Sequence[torch.Tensor], model: torch.nn.Module,
                 optimizer: torch.optim.Optimizer, *, outputs=None, boundary=None,
                 scaler: torch.amp.GradScaler | None = None, grad_clip: float = 0.0,
                 before_step: Callable[[StepInfo], None] | None = None) -> tuple[StepInfo, bool]:
    """Backward, reduce, (unscale), clip and step; returns the weighting's ``StepInfo`` and whether the step was
    skipped (only ever with a scaler). ``losses``: this rank's task losses, in ``model.tasks`` order."""
    params = optimizer_parameters(optimizer)
    before = copy.deepcopy(weighting.state_dict()) if scaler is not None else None
    # scaler.scale(1) is the scale S as a number (and starts the scaler on the parameters' device)
    scale = float(scaler.scale(torch.ones((), device=params[0].device))) if scaler is not None else 1.0
    step = Step(model, boundary=boundary, outputs=outputs, scale=scale, reduce=all_reduce_mean, ranks=world().size)
    optimizer.zero_grad(set_to_none=True)
    info = weighting.backward(losses, step)
    average_gradients(params)
    skipped = False
    if scaler is not None:
        scaler.unscale_(optimizer)
        skipped = not gradients_finite(params)
    if skipped:
        weighting.load_state_dict(before)
    elif before_step is not None:
        before_step(info)
    if grad_clip:
        torch.nn.utils.clip_grad_norm_(model.parameters(), grad_clip)
    if scaler is not None:
        scaler.step(optimizer)
        scaler.update()
    else:
        optimizer.step()
    if checking_ranks():
        device = params[0].device
        generators = [torch.get_rng_state()] + ([torch.cuda.get_rng_state(device)] if device.type == "cuda" else [])
        check_identical([info.weights, weighting.state_dict(), generators],
                        f"the {weighting.name} weighting's weights or state, or torch's random generator,")
    return info, skipped

"""The contract between a training loop and a multi-task weighting method.

As in LibMTL's ``AbsWeighting``, a weighting is an ``nn.Module`` that turns
the list of task losses into gradients: ``backward(losses, step)`` leaves
``.grad`` set on the model's parameters, the training loop then calls its
optimizer. A weighting sees the model only through ``MultiTaskModel``'s
contract (``lib.models.base``: shared and task parameters, GradNorm's W, the
trunk/head boundary), so every weighting runs with every architecture.

The training loop's side of the contract: it calls ``wants_boundary(model)``
once; if True it runs the model with ``lib.models.forward_with_boundary`` and
puts the ``Boundary`` in every step's ``Step`` (the weighting must then send
the trunk's gradient through it). Everything else a step needs (the model,
the task outputs, the GradScaler's scale, the mean over processes) arrives in
the same ``Step`` (``lib.weighting.step``); the method keeps none of it.

State. Everything that changes during training is a parameter, a buffer or
``nn.Module``'s extra state (``get_extra_state``: an optimizer's state, a
generator, a history of numbers), so ``to(device)``, ``state_dict()`` and
``load_state_dict()`` are ``nn.Module``'s. Parameters that require a gradient
(UW's log-variances) join the model's optimizer; parameters that a method
trains with its own optimizer (GradNorm's w, FAMO's logits) do not require
one: no gradient of the network's loss reaches them.

Options are checked when a method is built: a value a method cannot train with
(NaN, infinite, out of range) is a ``ValueError`` naming the option and the
value (``finite_number``, ``finite_numbers``), so ``TrainConfig`` refuses it
before anything is created. After every ``backward`` the training loop asks
``nonfinite(info, tasks)`` whether a weight, a reported value or the method's
own state is NaN or infinite, and stops naming the step and the quantity.

Mixed precision and several processes (docs/distributed.md). A method leaves ``step.scale`` x its gradient on
every parameter the model's optimizer trains (``step.scaled``) and reads only unscaled values, so its weights
do not depend on the GradScaler's scale; a skipped step restores its ``state_dict``. Everything it reads
(losses, per-task gradients) goes through ``step.reduce``, the mean over ranks, before it combines them, so its
weights and state are the same on every rank; the gradient it leaves is this rank's share (or the global
combined gradient), and the loop averages the parameters' gradients afterwards.
"""
from __future__ import annotations

import math
import numbers
from abc import ABC, abstractmethod
from dataclasses import dataclass, field
from itertools import chain
from typing import Sequence

import torch

from .step import Step


@dataclass
class StepInfo:
    """What one ``backward`` reports for the run history."""

    weights: list[float]  # the weight each task's loss carried in this step's gradient
    extra: dict[str, float] = field(default_factory=dict)  # method-specific values (gradient norms, ...)


class Weighting(torch.nn.Module, ABC):
    """Base class. Subclasses implement ``combine``; their state is parameters, buffers and extra state."""

    name: str = ""

    def __init__(self, n_tasks: int):
        super().__init__()
        if n_tasks < 1:
            raise ValueError(f"n_tasks must be >= 1, got {n_tasks}")
        self.n_tasks = n_tasks

    def backward(self, losses: Sequence[torch.Tensor], step: Step | torch.nn.Module) -> StepInfo:
        """Set ``.grad`` on the model's parameters from the task ``losses`` (in ``model.tasks`` order, this rank's).

        ``step``: the step's ``Step``; a model alone stands for ``Step(model)`` (one process, no GradScaler, no
        boundary). ``ValueError`` when the number of losses is not ``n_tasks``; ``TypeError`` for another ``step``.
        """
        if not isinstance(step, (Step, torch.nn.Module)):
            raise TypeError(f"step must be a lib.weighting.Step (or a model), got {type(step).__name__}")
        step = step if isinstance(step, Step) else Step(step)
        if len(losses) != self.n_tasks:
            raise ValueError(f"{type(self).__name__} was built for {self.n_tasks} tasks, got {len(losses)} losses")
        return self.combine(list(losses), step)

    @abstractmethod
    def combine(self, losses: list[torch.Tensor], step: Step) -> StepInfo:
        """The method itself: ``backward`` after the checks. Pass the separate loss tensors on, not elements of
        their stack (which would also send zeros back through every other task's graph)."""

    def wants_boundary(self, model) -> bool:
        """Whether this method takes its task gradients at the model's trunk/head boundary."""
        return False

    def on_epoch_end(self) -> None:
        """Called by the training loop after every epoch (for epoch-level methods such as DWA)."""

    def nonfinite(self, info: StepInfo, tasks: Sequence[str]) -> tuple[str, float] | None:
        """The first NaN or infinite quantity of the step just taken, as (description, value), else None.

        Looked at in order: the method's reported values (``info.extra``, e.g. ``gradnorm_loss``), the
        weights the step used (``info.weights``: ``weight w_<task>``, as in the history), then every
        floating-point parameter and buffer of the method, by name, after this step's update (``updated
        w[<task>]`` for GradNorm's w; a tensor of one entry per task is indexed by task name). ``tasks`` names
        the tasks in loss order.
        """
        for key, value in info.extra.items():
            if not math.isfinite(value):
                return key, float(value)
        for task, value in zip(tasks, info.weights):
            if not math.isfinite(value):
                return f"weight w_{task}", float(value)
        for attr, value in sorted(chain(self.named_parameters(), self.named_buffers()), key=lambda kv: kv[0]):
            if value.is_floating_point():
                bad = ~torch.isfinite(value.detach())
                if bad.any():
                    flat = value.detach().reshape(-1)
                    i = int(bad.reshape(-1).nonzero()[0])
                    where = tasks[i] if value.dim() == 1 and len(value) == len(tasks) else i
                    return f"updated {attr}[{where}]", float(flat[i])
        return None


def finite_number(option: str, value, minimum: float | None = None, strict: bool = False,
                  maximum: float | None = None) -> float:
    """``value`` as a float, or ``ValueError`` naming ``option`` and ``value``: a finite real number (not a
    bool or a string), >= ``minimum`` (> with ``strict``) and < ``maximum`` where given."""
    try:
        if isinstance(value, (bool, str)):
            raise TypeError
        x = float(value)
    except (TypeError, ValueError):
        x = math.nan
    ok = math.isfinite(x) and (minimum is None or (x > minimum if strict else x >= minimum)) and (
        maximum is None or x < maximum)
    if not ok:
        bounds = ([f"{'>' if strict else '>='} {minimum:g}"] if minimum is not None else []) + (
            [f"< {maximum:g}"] if maximum is not None else [])
        raise ValueError(f"{option} must be a finite number{' ' + ' and '.join(bounds) if bounds else ''}, "
                         f"got {value!r}")
    return x


def finite_numbers(option: str, values, n: int, minimum: float | None = None, strict: bool = False) -> list[float]:
    """``values`` as ``n`` floats, or ``ValueError`` naming ``option`` and ``values`` (see ``finite_number``)."""
    try:
        items = list(values)
    except TypeError:
        items = None
    bound = f" {'>' if strict else '>='} {minimum:g}" if minimum is not None else ""
    message = f"{option} must be {n} finite number{'s' if n != 1 else ''}{bound}, got {values!r}"
    if items is None or isinstance(values, (str, dict)) or len(items) != n:
        raise ValueError(message)
    try:
        return [finite_number(option, v, minimum, strict) for v in items]
    except ValueError:
        raise ValueError(message) from None


def whole_number(option: str, value, minimum: int | None = None) -> int:
    """``value`` as an int, or ``ValueError`` naming ``option``: an integer (not a bool), >= ``minimum``."""
    ok = isinstance(value, numbers.Integral) and not isinstance(value, bool) and (minimum is None or value >= minimum)
    if not ok:
        raise ValueError(f"{option} must be an integer{f' >= {minimum}' if minimum is not None else ''}, "
                         f"got {value!r}")
    return int(value)


def grad_norm(grads: Sequence[torch.Tensor | None]) -> torch.Tensor:
    """L2 norm of a list of gradients (``None`` entries, for unused parameters, count as zero)."""
    sq = [g.pow(2).sum() for g in grads if g is not None]
    return torch.stack(sq).sum().sqrt() if sq else torch.zeros(())


def shared_task_gradients(losses: Sequence[torch.Tensor], step: Step) -> torch.Tensor:
    """Each task's gradient on the model's shared parameters, flattened: (T, P), unscaled and averaged over
    ranks (``step.reduce``): the global batch's task gradients.

    Each loss is differentiated as ``step.scale`` x loss (so the task-specific parameters are left with
    scaled gradients, as the GradScaler expects) and the rows returned are divided by it.

    Pass the separate loss tensors, not elements of their stack (which would also
    send zeros back through every other task's graph).

    One backward per task. Task-specific parameters keep their gradients (each
    is reached by its own task only), so a method that rewrites the shared
    gradient (PCGrad, CAGrad) needs no further backward. Shared ``.grad`` is
    left empty for ``set_shared_gradient``.
    """
    shared = step.model.shared_parameters()
    rows = []
    for i, loss in enumerate(losses):
        for p in shared:
            p.grad = None
        step.scaled(loss).backward(retain_graph=i < len(losses) - 1)
        rows.append(torch.cat([(p.grad if p.grad is not None else torch.zeros_like(p)).reshape(-1) for p in shared])
                    if shared else loss.new_zeros(0))
    for p in shared:
        p.grad = None
    grads = torch.stack(rows)
    return step.reduce(grads if step.scale == 1.0 else grads / step.scale)


def global_gradients(grads: Sequence[torch.Tensor | None], step: Step) -> list[torch.Tensor | None]:
    """``grads`` (one rank's gradients, taken from ``step.scale`` x a loss) unscaled and averaged over ranks
    (``step.reduce``): the global batch's gradients, in one reduction. ``None`` entries (a parameter the loss does
    not reach, on every rank alike) stay ``None``. With one process and scale 1 the list itself."""
    scale = step.scale
    grads = list(grads) if scale == 1.0 else [None if g is None else g / scale for g in grads]
    present = [g for g in grads if g is not None]
    if step.ranks == 1 or not present:
        return grads
    flat = step.reduce(torch.cat([g.reshape(-1) for g in present]))
    out, offset = [], 0
    for g in grads:
        if g is None:
            out.append(None)
        else:
            out.append(flat[offset:offset + g.numel()].view_as(g))
            offset += g.numel()
    return out


def move_optimizer_state(optimizer: torch.optim.Optimizer, device) -> None:
    """Move an optimizer's per-parameter state tensors (Adam's moments) to ``device``; 'step' stays as saved.
    (``nn.Module.to`` moves a method's parameters, not the state of an optimizer it holds.)"""
    for state in optimizer.state.values():
        for k, v in state.items():
            if torch.is_tensor(v) and v.dim() > 0:
                state[k] = v.to(device)


def set_shared_gradient(model, g: torch.Tensor) -> None:
    """Write a flat gradient back onto the shared parameters (multiply by the scale first, where there is one)."""
    offset = 0
    for p in model.shared_parameters():
        n = p.numel()
        p.grad = g[offset:offset + n].view_as(p).clone()
        offset += n

"""Multi-task weighting methods, independent of the architecture (LibMTL's ``weighting/``).

``build_weighting(name, n_tasks, **options)`` makes one by its command-line name; each is an ``nn.Module``
whose ``backward(losses, Step(model, ...))`` leaves the step's gradient on the model.
"""
from __future__ import annotations

import inspect

from .base import StepInfo, Weighting, grad_norm, set_shared_gradient, shared_task_gradients
from .step import Step, one_process
from .cagrad import CAGrad
from .dwa import DWA
from .famo import FAMO
from .fixed import Equal, Fixed
from .gradnorm import GradNorm
from .pcgrad import PCGrad
from ..upstream.rule import UpstreamRule
from .uncertainty import Uncertainty

WEIGHTINGS: dict[str, type[Weighting]] = {
    cls.name: cls for cls in (Fixed, Equal, GradNorm, Uncertainty, DWA, PCGrad, CAGrad, FAMO, UpstreamRule)
}


def option_names(name: str) -> list[str]:
    """The options a method's constructor takes (every keyword but ``n_tasks``)."""
    sig = inspect.signature(WEIGHTINGS[name].__init__)
    return [p for p in sig.parameters if p not in ("self", "n_tasks")]


def build_weighting(name: str, n_tasks: int, **options) -> Weighting:
    """The method ``name`` for ``n_tasks`` tasks. ``ValueError`` names an unknown method, an option the
    method does not take (with the accepted ones) or a value it refuses."""
    if name not in WEIGHTINGS:
        raise ValueError(f"unknown weighting {name!r}; choose one of {sorted(WEIGHTINGS)}")
    accepted = option_names(name)
    unknown = sorted(set(options) - set(accepted))
    if unknown:
        raise ValueError(f"weighting {name!r} has no option {', '.join(map(repr, unknown))}; "
                         f"its options are {', '.join(accepted) or '(none)'}")
    try:
        return WEIGHTINGS[name](n_tasks, **options)
    except (TypeError, ValueError) as e:
        raise ValueError(f"weighting {name!r}: {e}") from None


__all__ = ["Step", "one_process",
           "StepInfo", "Weighting", "grad_norm", "shared_task_gradients", "set_shared_gradient", "Fixed", "Equal",
           "GradNorm", "Uncertainty", "DWA", "PCGrad", "CAGrad", "FAMO", "UpstreamRule",
           "WEIGHTINGS", "build_weighting", "option_names"]

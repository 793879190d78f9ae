"""Multi-task weighting methods, independent of the architecture (LibMTL's ``weighting/``).

``build_weighting(name, n_tasks, **options)`` makes one by its command-line name.
"""
from __future__ import annotations

from .base import StepInfo, Weighting, grad_norm, set_shared_gradient, shared_task_gradients
from .cagrad import CAGrad
from .dwa import DWA
from .famo import FAMO
from .fixed import Equal, Fixed
from .gradnorm import GradNorm
from .pcgrad import PCGrad
from .seed_gradnorm import SeedGradNorm
from .uncertainty import Uncertainty

WEIGHTINGS: dict[str, type[Weighting]] = {
    cls.name: cls for cls in (Fixed, Equal, GradNorm, Uncertainty, DWA, PCGrad, CAGrad, FAMO, SeedGradNorm)
}


def build_weighting(name: str, n_tasks: int, **options) -> Weighting:
    if name not in WEIGHTINGS:
        raise ValueError(f"unknown weighting {name!r}; choose one of {sorted(WEIGHTINGS)}")
    return WEIGHTINGS[name](n_tasks, **options)


__all__ = ["StepInfo", "Weighting", "grad_norm", "shared_task_gradients", "set_shared_gradient", "Fixed", "Equal",
           "GradNorm", "Uncertainty", "DWA", "PCGrad", "CAGrad", "FAMO", "SeedGradNorm",
           "WEIGHTINGS", "build_weighting"]

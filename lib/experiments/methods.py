"""The report's experiments as data: named methods, and the runs a section needs.

A *method* is a partial ``TrainConfig`` (model, task, weighting and its
options). ``configs(base, methods, seeds)`` expands methods x seeds into full
configurations; ``lib.experiments.batch.get_or_train_all`` gets each from the
run store, training what is missing. Notebooks only name methods.
"""
from __future__ import annotations

import re
from dataclasses import fields
from typing import Iterable

from ..config import TrainConfig

# Labels are what tables and figures show. "original" is upstream's shared
# YOLOv5WithClassification with its fixed weights (detection 1.0, classification 0.01).
METHODS: dict[str, dict] = {
    "original": dict(model="shared", weighting="fixed", weighting_options={"weights": [1.0, 0.01]}),
    # equal weights as fixed (1, 1), so the static grid's w_view = 1 is the same run
    "equal": dict(model="shared", weighting="fixed", weighting_options={"weights": [1.0, 1.0]}),
    "gradnorm": dict(model="shared", weighting="gradnorm", weighting_options={"alpha": 1.5}),
    "uw": dict(model="shared", weighting="uw"),
    "dwa": dict(model="shared", weighting="dwa"),
    "pcgrad": dict(model="shared", weighting="pcgrad"),
    "cagrad": dict(model="shared", weighting="cagrad"),
    "famo": dict(model="shared", weighting="famo"),
    "detached": dict(model="detached", weighting="fixed", weighting_options={"weights": [1.0, 1.0]}),
    "dual": dict(model="dual", weighting="fixed", weighting_options={"weights": [1.0, 1.0]}),
    "det_only": dict(model="shared", task="det", weighting="fixed", weighting_options={"weights": [1.0]}),
    "view_only": dict(model="shared", task="view", weighting="fixed", weighting_options={"weights": [1.0]}),
    # upstream's flawed rule on the real task (findings: the weight-collapse case)
    "upstream_rule": dict(model="shared", weighting="upstream_rule"),
}
SINGLE_TASK = ("det_only", "view_only")


def static_method(view_weight: float) -> dict:
    """Fixed weights with detection 1 and the given classification weight (the hand-tuned grid)."""
    return dict(model="shared", weighting="fixed", weighting_options={"weights": [1.0, float(view_weight)]})


def gradnorm_method(alpha: float, optimizer: str | None = None, lr: float | None = None) -> dict:
    """GradNorm with ``alpha``, and the optimizer and learning rate of its weights when given
    (else GradNorm's defaults)."""
    options = {"alpha": float(alpha)}
    if optimizer is not None:
        options.update(optimizer=optimizer, lr=float(lr))
    return dict(model="shared", weighting="gradnorm", weighting_options=options)


def gradnorm_label(alpha: float, optimizer: str | None = None, lr: float | None = None) -> str:
    """``gradnorm_a1.5`` or ``gradnorm_a1.5_sgd0.1``: the label ``method`` reads back."""
    return f"gradnorm_a{alpha:g}" + (f"_{optimizer}{lr:g}" if optimizer is not None else "")


_GRADNORM = re.compile(r"gradnorm_a(?P<alpha>[0-9.e+-]+?)(?:_(?P<opt>adam|sgd)(?P<lr>[0-9.e+-]+))?")
_TRAIN_FIELDS = {f.name for f in fields(TrainConfig)}
_DEFAULTS = TrainConfig()


def setting_label(name: str, **values) -> str:
    """``name@key=value,...``: the method ``name`` with TrainConfig fields (e.g. ``lr``) or, for any other
    key, its weighting's options (e.g. ``temperature``) set; the label ``method`` reads back."""
    return name + ("@" + ",".join(f"{k}={v:g}" for k, v in values.items()) if values else "")


def _with_settings(name: str, settings: str) -> dict:
    out, options = dict(method(name)), {}
    for item in settings.split(","):
        key, sep, value = item.partition("=")
        try:
            number = float(value)
        except ValueError:
            number = None
        if not key or not sep or number is None:
            raise ValueError(f"setting {item!r} is not key=number")
        if key in _TRAIN_FIELDS:  # an integer field (e.g. batch_size) keeps its type
            out[key] = int(number) if isinstance(getattr(_DEFAULTS, key), int) and number.is_integer() else number
        else:
            options[key] = number
    if options:
        out["weighting_options"] = {**(out.get("weighting_options") or {}), **options}
    return out


def method(name: str) -> dict:
    """A method by label: a name from ``METHODS``, ``static_<w>``, ``gradnorm_a<alpha>``,
    ``gradnorm_a<alpha>_<adam|sgd><lr>``, or any of these with ``@key=value,...`` (``setting_label``).
    Raises ``ValueError`` for any other label."""
    if name in METHODS:
        return METHODS[name]
    if "@" in name:
        try:
            return _with_settings(*name.split("@", 1))
        except ValueError as e:
            raise ValueError(f"method {name!r}: {e}") from None
    try:
        if name.startswith("static_"):
            return static_method(float(name.removeprefix("static_")))
        m = _GRADNORM.fullmatch(name)
        if m is not None:
            return gradnorm_method(float(m["alpha"]), m["opt"], None if m["lr"] is None else float(m["lr"]))
    except ValueError:
        pass
    raise ValueError(f"unknown method {name!r}; choose from {sorted(METHODS)}, static_<w>, gradnorm_a<alpha>, "
                     f"gradnorm_a<alpha>_<adam|sgd><lr>, each optionally with @key=value,...")


def check_labels(labels, where: str) -> list[str]:
    """``labels`` as a list, every one a method label (``method``); ``ValueError`` prefixed ``where: ``."""
    for m in labels:
        try:
            method(m)
        except ValueError as e:
            raise ValueError(f"{where}: {e}") from None
    return list(labels)


def configs(base: TrainConfig, methods: Iterable[str], seeds: Iterable[int]) -> dict[tuple[str, int], TrainConfig]:
    return {(m, s): base.replace(**method(m), seed=int(s)) for m in methods for s in seeds}

"""Stop a run on a validation plateau and test its best weights: YOLOv5's ``--patience`` and ``best.pt``.

After every validation the run's fitness (``fitness``) goes to ``EarlyStopping``:
with ``patience`` N > 0 the run stops once N evaluated epochs in a row have not
improved on the best fitness so far, and ``Plateau`` keeps the weights that were
evaluated at the best epoch (the moving average with EMA on, BatchNorm already
recalibrated) with that epoch's validation result. At the end those weights, not
the last ones, are scored on val and test and saved. ``epochs`` stays the maximum.
With ``patience`` 0 nothing is kept and the last weights are tested.

Source: YOLOv5 ``utils/torch_utils.py`` ``EarlyStopping`` (stop once ``epoch -
best_epoch >= patience``) and ``train.py`` (``best.pt``, the weights of the best
fitness). One change: a tie is not an improvement (YOLOv5 moves the best epoch
on ``fitness >= best``). A tie gains nothing: a saturated metric (view accuracy
on a small val set reaches 1.0 and stays there) would otherwise push the best
epoch to the last epoch and never stop the run; the earliest epoch that reached
the best fitness is kept. YOLOv5 needs ``>=`` because its best starts at 0 and
early epochs score 0; here the first validation is always the first best.

``min_delta`` (Keras' and Lightning's ``EarlyStopping(min_delta=...)``; YOLOv5 has none): only a gain of
more than ``min_delta`` over the fitness that last reset the count restarts it, so a run creeping up by
less than that per ``patience`` epochs counts as on a plateau. The tested weights are still those of the
best fitness, however small its lead. 0 is YOLOv5's rule.

With two tasks the run stops only when each task's own metric has plateaued (one ``EarlyStopping`` per task,
same ``patience`` and ``min_delta``), not their mean: a saturated view accuracy would otherwise hide a
detection mAP still rising (the full profile's first build stopped 19 of 57 runs that way). The best epoch, the
weights tested, is still the best mean fitness.
"""
from __future__ import annotations

import math
import sys
from typing import Mapping, Sequence

import torch

from .distributed import broadcast_object

# the report's headline validation metric of each task (lib.evaluate.EvalResult.metrics keys)
TASK_METRICS = {"det": "mAP50", "view": "view_accuracy"}


def fitness(metrics: Mapping[str, float], tasks: Sequence[str]) -> float:
    """The validation fitness a run is stopped on and its best epoch chosen by: the mean over ``tasks`` of
    each task's headline metric (``TASK_METRICS``: detection mAP@0.5, view accuracy; both in [0, 1]). One
    task: that metric. NaN when a metric is undefined (no ground-truth object).

    The choice: YOLOv5's ``utils/metrics.py`` ``fitness`` weighs mAP@0.5 by 0.1 and mAP@0.5:0.95 by 0.9
    for detection alone; this project reports mAP@0.5 and view accuracy, so the fitness is the metrics the
    comparison reads, each task counted once. Raises ``ValueError`` for a task it does not know."""
    unknown = [t for t in tasks if t not in TASK_METRICS]
    if unknown or not tasks:
        raise ValueError(f"fitness is defined for the tasks {', '.join(TASK_METRICS)}; got {list(tasks)}")
    return float(sum(metrics[TASK_METRICS[t]] for t in tasks) / len(tasks))


class EarlyStopping:
    """The patience rule on a sequence of (epoch, fitness). ``step`` after each evaluated epoch returns
    whether it improved (strictly above the best; the first value always; NaN below every number);
    ``stop`` is True once ``patience`` evaluated epochs in a row have not gained more than ``min_delta``
    over the fitness that last restarted the count (never with patience 0). Epochs are 0-based, as the
    trainer counts them. Raises ``ValueError`` for a negative ``patience`` or ``min_delta``."""

    def __init__(self, patience: int, min_delta: float = 0.0):
        if patience < 0:
            raise ValueError(f"patience must be >= 0, got {patience}")
        if not min_delta >= 0:
            raise ValueError(f"min_delta must be >= 0, got {min_delta}")
        self.patience, self.min_delta = patience, float(min_delta)
        self.best_epoch: int | None = None
        self.best_fitness = -math.inf
        self.reference = -math.inf  # the fitness that last restarted the count
        self.stale = 0  # evaluated epochs since the count last restarted

    def step(self, epoch: int, value: float) -> bool:
        below = lambda v: -math.inf if math.isnan(v) else v  # noqa: E731  NaN ranks below every number
        first = self.best_epoch is None
        improved = first or below(value) > below(self.best_fitness)
        if improved:
            self.best_epoch, self.best_fitness = epoch, value
        if first or below(value) > below(self.reference) + self.min_delta:
            self.reference, self.stale = value, 0
        else:
            self.stale += 1
        return improved

    @property
    def stop(self) -> bool:
        return self.patience > 0 and self.stale >= self.patience

    def state_dict(self) -> dict:
        return {"best_epoch": self.best_epoch, "best_fitness": self.best_fitness, "epochs_since_best": self.stale,
                "reference_fitness": self.reference}

    def load_state_dict(self, state: dict) -> None:
        self.best_epoch, self.best_fitness = state["best_epoch"], state["best_fitness"]
        self.stale = state["epochs_since_best"]
        self.reference = state["reference_fitness"]


class Plateau:
    """What the trainer holds: the rule, and with ``patience`` > 0 the best epoch's weights (``best_model``, a
    CPU copy of the evaluated model's ``state_dict``) and validation result (``best_val``; None after a resume:
    the trainer scores the restored weights again). Rank 0 observes; ``stopped()`` gives its decision to all."""

    def __init__(self, patience: int, tasks: Sequence[str], epochs: int, min_delta: float = 0.0):
        self.rule, self.tasks, self.epochs = EarlyStopping(patience, min_delta), tuple(tasks), epochs
        self.task_rules = {t: EarlyStopping(patience, min_delta) for t in self.tasks} if len(self.tasks) > 1 else {}
        self.best_model: dict | None = None
        self.best_val = None

    @property
    def stop(self) -> bool:
        """Every task's metric on a plateau (one task: the fitness's)."""
        if self.task_rules:
            return self.patience > 0 and all(r.stop for r in self.task_rules.values())
        return self.rule.stop

    @property
    def patience(self) -> int:
        return self.rule.patience

    def observe(self, epoch: int, result, model: torch.nn.Module) -> None:
        """After validating ``model`` at ``epoch`` (0-based) with ``result`` (an ``EvalResult``)."""
        if not self.patience:
            return
        metrics = result.metrics()
        for task, rule in self.task_rules.items():
            rule.step(epoch, fitness(metrics, [task]))
        if self.rule.step(epoch, fitness(metrics, self.tasks)):
            self.best_model = {k: v.detach().to("cpu", copy=True) for k, v in model.state_dict().items()}
            self.best_val = result
        if self.stop and epoch + 1 < self.epochs:
            gain = f"of more than {self.rule.min_delta:g} " if self.rule.min_delta else ""
            what = "in any task " if self.task_rules else ""
            print(f"stopped at epoch {epoch + 1}: no improvement {gain}{what}for {self.patience} epochs; best "
                  f"epoch {self.rule.best_epoch + 1}, fitness {self.rule.best_fitness:.4f}", file=sys.stderr)

    def stopped(self) -> bool:
        """Whether the run stops now: rank 0's decision, on every rank (no collective with patience 0)."""
        return bool(self.patience) and broadcast_object(self.stop)

    def summary(self, stopped_epoch: int) -> dict:
        """``best_epoch`` (1-based: the tested weights' epoch, ``stopped_epoch`` with patience 0) and
        ``converged`` (the rule fired: ``patience`` evaluated epochs without a gain of more than ``min_delta`` in
        every task; None with patience 0)."""
        if not self.patience:
            return {"best_epoch": stopped_epoch, "converged": None}
        return {"best_epoch": self.rule.best_epoch + 1, "converged": self.stop}

    def state_dict(self) -> dict:
        return {**self.rule.state_dict(), "best_model": self.best_model,
                "task_rules": {t: r.state_dict() for t, r in self.task_rules.items()}}

    def load_state_dict(self, state: dict) -> None:
        self.rule.load_state_dict(state)
        for task, rule in self.task_rules.items():
            rule.load_state_dict(state["task_rules"][task])
        self.best_model, self.best_val = state["best_model"], None

"""What the study cannot show, read from its own settings and runs (section 8's limitations list).

Each item is a template filled from the configuration every run started from, the seeds, the tuning budgets
and the runs' metrics; nothing here is written in advance of the runs.
"""
from __future__ import annotations

import numpy as np

from ..experiments.methods import SINGLE_TASK, method

VIEW_CEILING = 0.95  # view classification alone at or above this mean test accuracy leaves little to separate


TASK_METRICS = ("val_mAP50", "val_view_accuracy")


def still_gaining(runs, patience: int, min_delta: float) -> dict[str, float]:
    """Run name -> the largest gain of a task's validation metric in the run's last ``patience`` evaluated
    epochs over its best before them, for the runs where that gain exceeds ``min_delta`` (``epochs.csv``)."""
    out = {}
    for run in runs:
        try:
            epochs = run.epochs
        except (OSError, AttributeError, ValueError):
            continue
        gains = []
        for col in TASK_METRICS:
            values = epochs[col].dropna().to_numpy(float) if col in epochs else np.array([])
            if len(values) > patience:
                gains.append(values[-patience:].max() - values[:-patience].max())
        if gains and max(gains) > min_delta:
            out[getattr(getattr(run, "path", None), "name", str(id(run)))] = float(max(gains))
    return out


def _knobs(label: str, lr: float) -> dict[str, float]:
    """A setting's numeric knobs: the learning rate (the profile's, ``lr``, where the setting keeps it) and its
    weighting's numeric options (``alpha``, each loss weight)."""
    m = method(label)
    out = {"learning rate": m.get("lr", lr)}
    for k, v in (m.get("weighting_options") or {}).items():
        name = "weight-optimizer learning rate" if k == "lr" else k
        if isinstance(v, (list, tuple)):
            out.update({f"{name}[{i}]": x for i, x in enumerate(v) if isinstance(x, (int, float))})
        elif isinstance(v, (int, float)) and not isinstance(v, bool):
            out[name] = v
    return out


def grid_edges(grid: list[str], selected: str, lr: float) -> list[str]:
    """Where ``selected`` sits at the end of a range ``grid`` tried: for each numeric knob (``_knobs``) that
    takes two or more values over the grid, 'alpha 3 (highest of 3)' when the selected value is the lowest or
    highest of them. Read per knob, not by the setting's place in the list: GradNorm's grid lists alpha 3
    before its SGD settings, yet 3 is the highest alpha it tried."""
    knobs = [_knobs(g, lr) for g in grid]
    mine = _knobs(selected, lr)
    out = []
    for k, v in mine.items():
        values = sorted({d[k] for d in knobs if k in d})
        if len(values) >= 2 and v in (values[0], values[-1]):
            out.append(f"{k} {v:g} ({'lowest' if v == values[0] else 'highest'} of {len(values)})")
    return out


def limitations(base, seeds: list[int], tuning_seeds: list[int], grid: dict[str, list[str]], runs: dict,
                selected: dict[str, str] | None = None) -> str:
    """Markdown bullets. ``base``: the ``TrainConfig`` every run started from; ``grid``: row -> its settings
    (``requests.compared_grid``), in grid order; ``runs``: (row, seed) -> Run; ``selected``: row -> the
    setting tuning kept (``tuning.Tuned.selected``)."""
    items = []
    items.append("**Data**: " + ("the project's synthetic colour-Doppler benchmark, not patients' frames; a "
                                 "verdict here says what the methods do on it, not on real echo data."
                                 if base.data is None or "synthetic-" in str(base.data)
                                 else f"one data set (`{base.data}`), one hospital's acquisition."))
    if (base.scale, base.imgsz) != ("s", 640):
        items.append(f"**Scale**: model scale `{base.scale}` at {base.imgsz} px; upstream trains YOLOv5s at 640 px "
                     "(the `gpu` profile), which this report did not run.")
    tuned = {r: g for r, g in grid.items() if len(g) > 1}
    if tuned:
        kinds = sorted({len(g) for g in tuned.values()})
        by_lr = [r for r, g in tuned.items() if any("lr=" in s for s in g)]
        items.append(f"**Tuning**: {', '.join(f'`{r}`' for r in tuned)} had "
                     f"{' or '.join(str(k) for k in kinds)} settings each, selected on validation at seed(s) "
                     f"{', '.join(map(str, tuning_seeds))} only, so the selection carries that seed's noise"
                     + (f"; {', '.join(f'`{r}`' for r in by_lr)}, without a loss weight of their own, tuned the "
                        "learning rate: the same count of settings, not the same kind" if by_lr else "")
                     + ". Every other row ran its defaults.")
        if by_lr and any(ref in grid and len(grid[ref]) == 1 for ref in SINGLE_TASK):
            items.append(f"**Untuned references**: {' and '.join(SINGLE_TASK)} ran the profile's learning rate "
                         f"({base.lr:g}) while {', '.join(f'`{r}`' for r in by_lr)} tuned theirs, so Delta-m% and the "
                         "comparisons against the references favour those rows.")
        edge = {r: grid_edges(g, selected[r], base.lr) for r, g in tuned.items() if selected and r in selected}
        edge = [f"`{r}` ({selected[r]}: {', '.join(e)})" for r, e in edge.items() if e]
        if edge:
            items.append(f"**Grid edges**: {'; '.join(edge)}: the selected setting is at the end of a range the "
                         "grid tried, so a wider grid might select beyond it.")
    trained = [r for (m, _), r in runs.items()]
    converged = sum(r.metrics.get("converged") is True for r in trained)
    items.append(f"**Convergence**: {converged} of {len(trained)} runs stopped on a validation plateau "
                 f"(at most {base.epochs} epochs, patience {base.patience}"
                 + (f", a gain of more than {base.min_delta:g} in validation fitness restarting it" if base.min_delta else "")
                 + "); a verdict over any other is withheld.")
    gaining = still_gaining([r for r in trained if r.metrics.get("converged") is True], base.patience or 5,
                            base.min_delta or 0.01)
    if gaining:
        items.append(f"**Per-task plateau**: the rule watches the mean of validation mAP50 and view accuracy; in "
                     f"{len(gaining)} of those {converged} runs one task's validation metric still rose by more than "
                     f"{base.min_delta or 0.01:g} in the last {base.patience or 5} epochs (by up to "
                     f"{max(gaining.values()):.3f}), hidden by the other task's plateau: they stopped on the mean, "
                     "not on each task.")
    items.append(f"**Seeds**: n = {len(seeds)} per row; intervals are 95% Student-t over seeds, with clips "
                 "resampled where section 8 says so.")
    view = [r.metrics.get("test_view_accuracy") for (m, _), r in runs.items() if m == "view_only"]
    if view and np.nanmean(view) >= VIEW_CEILING:
        items.append(f"**View ceiling**: classification alone reaches a mean test view accuracy of "
                     f"{np.nanmean(view):.3f}, so view-accuracy verdicts have little room to separate methods.")
    if any(m == "dual" for m, _ in runs):
        items.append("**Dual backbone's Delta-m%** is taken against the shared network's single-task references "
                     f"({' and '.join(SINGLE_TASK)}), while its view network is another architecture (CSP + SE + "
                     "CBAM): its Delta-m% mixes the architecture with the absence of sharing.")
    return "\n".join(f"* {i}" for i in items)

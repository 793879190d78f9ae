"""Equal tuning budgets: each row's settings, the setting selected on validation, and the runs standing for it.

The profile's ``tuning`` (common block) maps a row of the comparison to its settings, method labels of
``lib.experiments.methods.method``: ``static: [static_0.01, static_0.1, static_1]``. A compared method that
``tuning`` does not name has one setting, itself. Every setting is trained at the tuning seeds (the profile's
``tuning_seeds``; None: the first seed) beside the single-task references; the setting with the best
validation Delta-m% (``comparison.select_on_validation``, the report's one selection rule) then runs on every
seed and stands for its row in every table and verdict. Test data never choose.

A row's *budget* is its number of settings; a verdict between rows of different budgets is withheld
(``paired.compare``'s ``budgets``). A row's *cost* is the training time of every run made for it: its
tuning runs and its selected setting at the other seeds (process-hours, as the runs measured them).
"""
from __future__ import annotations

from dataclasses import dataclass

import pandas as pd

from ..experiments.methods import SINGLE_TASK, check_labels
from .comparison import select_on_validation

# A profile without ``tuning``: the static weight on upstream's grid, every other method at its defaults.
DEFAULT_TUNING = {"static": ["static_0.01", "static_0.1", "static_1"]}


def grids(methods: list[str], tuning: dict | None) -> dict[str, list[str]]:
    """Each row's settings: the compared ``methods`` in order (one setting each, unless ``tuning`` names
    them), then the rows only ``tuning`` names. Raises ``ValueError`` for a bad label, an empty or repeated
    grid, or a tuned single-task reference."""
    tuning = DEFAULT_TUNING if tuning is None else tuning
    if not isinstance(tuning, dict):
        raise ValueError(f"tuning: expected a mapping of row -> list of settings, got {tuning!r}")
    out = {m: [m] for m in methods}
    for row, settings in tuning.items():
        if row in SINGLE_TASK:
            raise ValueError(f"tuning: {row} is a Delta-m% reference and is not tuned")
        if (not isinstance(settings, list) or not settings or len(set(settings)) != len(settings)
                or not all(isinstance(s, str) for s in settings)):
            raise ValueError(f"tuning: {row}: expected a non-empty list of distinct method labels, got {settings!r}")
        out[row] = check_labels(settings, f"tuning: {row}")
    return out


def tuning_seeds(seeds: list[int], given) -> list[int]:
    """The seeds every setting trains at: ``given``, or the first of ``seeds``."""
    return list(seeds[:1]) if given is None else list(given)


@dataclass
class Tuned:
    """What tuning gave. ``runs``: (row, seed) -> the selected setting's run; ``selected``: row -> setting;
    ``selection``: one line per (row, setting) with its validation numbers at the tuning seeds;
    ``budgets``: row -> number of settings; ``cost``: per row, runs and training process-hours."""
    runs: dict
    selected: dict[str, str]
    selection: pd.DataFrame
    budgets: dict[str, int]
    cost: pd.DataFrame


def tune(ctx, grid: dict[str, list[str]], at_tuning: dict) -> Tuned:
    """Select each tuned row's setting on validation from ``at_tuning`` (the ``tuning`` group's runs: every
    setting and the single-task references at the tuning seeds, keyed (label, seed)), then fetch every row's
    setting on every seed of ``ctx`` (trained if missing). A row with one setting is not selected."""
    selected = {row: g[0] for row, g in grid.items() if len(g) == 1}
    tables = []
    for row, g in grid.items():
        if len(g) > 1:
            selected[row], table = select_on_validation(at_tuning, g)
            made = {m: [r for (label, _), r in at_tuning.items() if label == m] for m in g}
            table["converged"] = [all(r.metrics.get("converged") is True for r in made[m]) for m in g]
            table["epochs trained"] = [max(int(r.metrics.get("stopped_epoch") or r.config.epochs) for r in made[m])
                                       for m in g]
            tables.append(table.rename_axis("setting").reset_index().assign(row=row))
    chosen = ctx.runs(list(dict.fromkeys(selected[row] for row in grid)))
    runs = {(row, s): r for row in grid for (m, s), r in chosen.items() if m == selected[row]}
    selection = (pd.concat(tables, ignore_index=True).set_index(["row", "setting"]) if tables
                 else pd.DataFrame(columns=["row", "setting"]).set_index(["row", "setting"]))
    cost = pd.DataFrame({row: cost_of(g, selected[row], at_tuning, chosen) for row, g in grid.items()}).T
    cost = cost.astype({"settings": int, "runs": int})
    return Tuned(runs, selected, selection, {row: len(g) for row, g in grid.items()}, cost.rename_axis("row"))


def select(grid: dict[str, list[str]], at_tuning: dict) -> dict[str, str]:
    """Each row's setting: its only one, or the one ``tune`` selects on validation from ``at_tuning``; nothing
    is fetched or trained."""
    return {row: g[0] if len(g) == 1 else select_on_validation(at_tuning, g)[0] for row, g in grid.items()}


def shown_runs(grid: dict[str, list[str]], shown: dict, at_tuning: dict) -> tuple[dict, dict[str, str]]:
    """(row -> the run a section shows for it, row -> its setting), for sections that show one run per row:
    a row with one setting, its run in ``shown`` (keyed (label, seed)); a tuned row, its selected setting's
    run at the first tuning seed in ``at_tuning`` (a tuning run, so nothing is trained). Raises ``KeyError``
    naming a row that neither holds."""
    selected = select(grid, at_tuning)
    out = {}
    for row, g in grid.items():
        pool = shown if len(g) == 1 else at_tuning
        found = [r for (m, _), r in pool.items() if m == selected[row]]
        if not found:
            raise KeyError(f"no run of {selected[row]!r} (row {row}) among the fetched runs")
        out[row] = found[0]
    return out, selected


def cost_of(settings: list[str], best: str, at_tuning: dict, chosen: dict) -> dict:
    """Runs made for one row and their training time: every setting at the tuning seeds, and the selected
    setting at the other seeds (a run counted once)."""
    made = {k: r for k, r in at_tuning.items() if k[0] in settings} if len(settings) > 1 else {}
    made.update({k: r for k, r in chosen.items() if k[0] == best})
    seconds = sum(float(r.metrics.get("train_seconds", float("nan"))) for r in made.values())
    return {"settings": len(settings), "runs": len(made), "training process-hours": seconds / 3600}

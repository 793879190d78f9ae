"""The runs a report will ask for, known before any notebook starts, so they can train as one batch.

Each notebook fetches its runs when it reaches them; trained notebook by
notebook, a notebook with an odd number of missing runs (or one long run)
leaves one of the ``jobs`` slots idle while the rest of the report waits. The
runner instead trains the union of every notebook's runs first, longest first
(``fetch``'s order), then runs the notebooks, which find them in the store.

``requests(stem, params, seeds)`` mirrors each notebook's ``ctx.runs`` calls
from its parameters (defaults read from the notebook, the profile's on top).
It decides only what trains early: a notebook still fetches what it uses, so
a plan that missed a run costs time, never a result. ``tests/test_report_plan``
checks that the plan of the smoke report is exactly the set of runs its
notebooks used.
"""
from __future__ import annotations

import ast
from pathlib import Path

from ..experiments.methods import configs
from .findings import sweep_labels

# The upstream report's three methods (section 1's test configuration table).
UPSTREAM_METHODS = ["original", "gradnorm", "dual"]
# The sweep's references: the original for the reading, the single-task runs for validation Delta-m%.
SWEEP_REFERENCES = ["original", "det_only", "view_only"]


def notebook_defaults(notebook: Path) -> dict:
    """The notebook's declared parameters with their default values (papermill's inspection); {} where
    papermill cannot read them."""
    import papermill as pm

    try:
        declared = pm.inspect_notebook(str(notebook))
    except ValueError:  # no kernelspec to read the parameters' language from: nothing planned for it
        return {}
    out = {}
    for name, p in declared.items():
        try:
            out[name] = ast.literal_eval(p["default"])
        except (ValueError, SyntaxError):
            out[name] = p["default"]
    return out


def requests(stem: str, params: dict, seeds: list[int]) -> list[tuple[list[str], list[int]]]:
    """(methods, seeds) pairs the notebook ``stem`` fetches with ``params`` (its parameters, defaults filled)."""
    first = seeds[:1]
    if stem.startswith("01_"):
        return [(UPSTREAM_METHODS, first)]
    if stem.startswith("02_"):
        return [(["gradnorm", "upstream_rule"], first)]
    if stem.startswith(("03_", "08_")):
        return [(list(params["methods"]), seeds)]
    if stem.startswith("04_"):
        return [(list(params["methods"]) + [f"static_{w:g}" for w in params["static_grid"]], seeds)]
    if stem.startswith("05_"):
        return [(list(params["methods"]), first)]
    if stem.startswith("06_"):
        return [(list(dict.fromkeys(list(params["methods"]) + list(params["focus"]))), first)]
    if stem.startswith("07_"):
        sweep_at = first if params.get("sweep_seeds") is None else list(params["sweep_seeds"])
        return [(sweep_labels(params["alphas"], params["weight_optimizers"]) + SWEEP_REFERENCES, sweep_at),
                (["upstream_rule", "gradnorm"], first),
                (list(params["stability_methods"]), list(params["stability_seeds"]))]
    return []


def report_configs(steps: list[tuple[Path, dict]], profile: str) -> dict:
    """Every configuration the planned notebooks fetch, keyed ``(notebook, method, seed)``.

    Each notebook's base comes from ``context.resolve`` with its own parameters (``overrides``,
    ``on_bad_label``), as its ``start`` will build it."""
    from .context import resolve

    out: dict = {}
    for notebook, given in steps:
        params = {**notebook_defaults(notebook), **given}
        if "overrides" not in params:  # a notebook without runs (the paper's toy)
            continue
        base, _, seeds, _ = resolve(params.get("profile", profile), params.get("overrides"),
                                    params.get("on_bad_label"))
        for methods, at in requests(notebook.stem, params, seeds):
            for key, cfg in configs(base, methods, at).items():
                out[(notebook.stem, *key)] = cfg
    return out

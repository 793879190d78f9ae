"""The runs each report section uses, declared once: its notebook fetches them, the runner trains them first.

One function per notebook (``SECTIONS``). It takes the section's seeds (the profile's) and the notebook's
own parameters, by the same names, and returns the section's named groups of runs::

    wanted = requests.comparison(ctx.seeds, methods=methods, static_grid=static_grid)
    runs = ctx.runs(*wanted["compared"])          # Runs(methods, seeds) -> ctx.runs(methods, seeds)

The runner calls the same functions with the same parameters (the notebook's declared defaults, the
profile's values on top: ``notebook_requests``) and trains the union of every section's runs as one batch
before the first notebook starts (``report_configs``), so no notebook waits on a half-used ``jobs`` pool.
A notebook still fetches what it uses: a request the batch missed costs time, never a result.
``tests/test_report_plan`` checks that every ``ctx.runs`` of a notebook takes a group of its function.

A ``methods`` parameter left at ``None`` means the section's list below, the one place it is written.
Bad labels raise ``ValueError`` naming the parameter (``ProfileError`` from the runner, before any run).
"""
from __future__ import annotations

import ast
import inspect
from pathlib import Path
from typing import NamedTuple

from ..experiments.methods import SINGLE_TASK, check_labels, configs
from .findings import sweep_labels
from .profiles import SECTION_KEYS, ProfileError
from .tuning import grids as tuning_grids, tuning_seeds as tuning_seeds_of

# The comparison: every weighting, the architectures, and the single-task references.
COMPARED = ["original", "equal", "gradnorm", "uw", "dwa", "pcgrad", "cagrad", "famo", "detached", "dual",
            *SINGLE_TASK]
MULTI_TASK = [m for m in COMPARED if m not in SINGLE_TASK]  # the runs drawn in section 6
JUDGED = [*MULTI_TASK, "upstream_rule"]  # the runs section 5 judges by upstream's criteria
DUAL_BACKBONE = ["dual", "original", *SINGLE_TASK]  # the dual backbone and its references
UPSTREAM_METHODS = ["original", "gradnorm", "dual"]  # the upstream report's three methods (section 1)
SWEEP_REFERENCES = ["original", *SINGLE_TASK]  # the sweep's reading, and validation Delta-m%'s references


class Runs(NamedTuple):
    """One group of runs a section uses: ``methods`` x ``seeds``; ``ctx.runs(*group)`` fetches it."""
    methods: list[str]
    seeds: list[int]


def labels(name: str, given, default: list[str] | None = None) -> list[str]:
    """``given`` (or ``default`` where it is None) as a list of method labels, each checked."""
    labels = default if given is None else given
    if isinstance(labels, str) or not isinstance(labels, (list, tuple)):
        raise ValueError(f"parameter {name}: expected a list of method labels, got {labels!r}")
    return check_labels(labels, f"parameter {name}")


def environment(seeds) -> dict[str, Runs]:
    """Section 1: the upstream report's three methods, for its test-configuration table."""
    return {"core": Runs(list(UPSTREAM_METHODS), list(seeds[:1]))}


def gradnorm(seeds) -> dict[str, Runs]:
    """Section 2: GradNorm and upstream's rule on the same model, data and schedule."""
    return {"core": Runs(["gradnorm", "upstream_rule"], list(seeds[:1]))}


def dual_backbone_grid(methods, tuning) -> dict[str, list[str]]:
    """Section 3's rows and their settings: ``methods`` (None: ``DUAL_BACKBONE``), tuned as the profile's
    ``tuning`` says for the rows it holds (``lib.report.tuning.grids``)."""
    methods = labels("methods", methods, DUAL_BACKBONE)
    return tuning_grids(methods, {r: g for r, g in (tuning or {}).items() if r in methods})


def dual_backbone(seeds, *, methods, tuning, tuning_seeds) -> dict[str, Runs]:
    """Section 3: the dual backbone and its references (``dual_backbone_grid``), every seed, as section 4."""
    return _tuned_groups(seeds, dual_backbone_grid(methods, tuning), tuning_seeds)


def compared_grid(methods, tuning) -> dict[str, list[str]]:
    """Sections 4 and 8's rows and their settings: ``methods`` (None: ``COMPARED``; must hold both single-task
    references), then every row of the profile's ``tuning`` (``lib.report.tuning.grids``)."""
    methods = labels("methods", methods, COMPARED)
    if not set(SINGLE_TASK) <= set(methods):
        raise ValueError(f"parameter methods: must include {' and '.join(SINGLE_TASK)} (the Delta-m% references)")
    return tuning_grids(methods, tuning)


def comparison(seeds, *, methods, tuning, tuning_seeds) -> dict[str, Runs]:
    """Section 4: the rows of ``compared_grid`` with one setting on every seed (``compared``), and every
    setting of the tuned rows with the references at the tuning seeds (``tuning``). Each tuned row's
    selected setting is fetched on every seed by ``lib.report.tuning.tune``."""
    return _tuned_groups(seeds, compared_grid(methods, tuning), tuning_seeds)


def _tuned_groups(seeds, grid: dict[str, list[str]], tuning_seeds) -> dict[str, Runs]:
    settings = [s for g in grid.values() if len(g) > 1 for s in g]
    return {"compared": Runs([m for m, g in grid.items() if len(g) == 1], list(seeds)),
            "tuning": Runs(list(dict.fromkeys([*settings, *SINGLE_TASK])), tuning_seeds_of(seeds, tuning_seeds))}


def shown_grid(methods, tuning) -> dict[str, list[str]]:
    """The settings of rows a section shows one run of (``methods``, checked labels): a row the profile's
    ``tuning`` names has its grid, so the section can show the setting selected on validation."""
    return tuning_grids(methods, {r: g for r, g in (tuning or {}).items() if r in methods})


def _shown_groups(seeds, name: str, methods: list[str], tuning, tuning_seeds) -> dict[str, Runs]:
    grid = shown_grid(methods, tuning)
    settings = [s for g in grid.values() if len(g) > 1 for s in g]
    # what the selection reads: every setting and the references at the tuning seeds (none without a tuned row)
    return {name: Runs([m for m, g in grid.items() if len(g) == 1], list(seeds[:1])),
            "tuning": Runs(list(dict.fromkeys([*settings, *SINGLE_TASK])) if settings else [],
                           tuning_seeds_of(seeds, tuning_seeds))}


def judged_rows(methods) -> list[str]:
    """Section 5's rows: ``methods`` (None: ``JUDGED``), checked."""
    return labels("methods", methods, JUDGED)


def validation_criteria(seeds, *, methods, tuning, tuning_seeds) -> dict[str, Runs]:
    """Section 5: the runs judged by upstream's criteria (None: ``JUDGED``), first seed; a tuned row at the
    setting selected on validation, first tuning seed (``shown_grid``, ``lib.report.tuning.shown_runs``)."""
    return _shown_groups(seeds, "judged", judged_rows(methods), tuning, tuning_seeds)


def visualisation_rows(methods, focus) -> tuple[list[str], list[str]]:
    """Section 6's rows: (drawn: ``methods``, None: ``MULTI_TASK``; shown in detail: ``focus``), checked."""
    return labels("methods", methods, MULTI_TASK), labels("focus", focus)


def visualisation(seeds, *, methods, focus, tuning, tuning_seeds) -> dict[str, Runs]:
    """Section 6: the drawn rows and the ones shown in detail (``visualisation_rows``), first seed; a tuned
    row at the setting selected on validation, first tuning seed, as in section 5."""
    drawn, focus = visualisation_rows(methods, focus)
    return _shown_groups(seeds, "drawn", list(dict.fromkeys([*drawn, *focus])), tuning, tuning_seeds)


def findings(seeds, *, alphas, weight_optimizers, sweep_seeds, stability_methods,
             stability_seeds) -> dict[str, Runs]:
    """Section 7: GradNorm's alpha x (optimizer, lr) sweep and its references (at ``sweep_seeds``; None: the
    first seed), GradNorm beside upstream's rule (first seed), and the stability study."""
    at = list(seeds[:1]) if sweep_seeds is None else list(sweep_seeds)
    return {"sweep": Runs(sweep_labels(alphas, weight_optimizers), at),
            "references": Runs(list(SWEEP_REFERENCES), list(at)),
            "collapse": Runs(["upstream_rule", "gradnorm"], list(seeds[:1])),
            "stability": Runs(labels("stability_methods", stability_methods), list(stability_seeds))}


def conclusions(seeds, *, methods, tuning, tuning_seeds) -> dict[str, Runs]:
    """Section 8: the comparison's runs, as section 4 (``comparison``)."""
    return comparison(seeds, methods=methods, tuning=tuning, tuning_seeds=tuning_seeds)


# Each notebook's function; a notebook not named here trains no run (the paper's toy, 02b).
SECTIONS = {"01_environment": environment, "02_gradnorm": gradnorm, "03_dual_backbone": dual_backbone,
            "04_comparison": comparison, "05_validation_criteria": validation_criteria,
            "06_visualisation": visualisation, "07_findings": findings, "08_conclusions": conclusions}


def notebook_defaults(notebook: Path) -> dict:
    """The notebook's declared parameters with their default values (papermill's inspection); {} where
    papermill cannot read them."""
    import papermill as pm

    try:
        declared = pm.inspect_notebook(str(notebook))
    except ValueError:  # no kernelspec to read the parameters' language from
        return {}
    out = {}
    for name, p in declared.items():
        try:
            out[name] = ast.literal_eval(p["default"])
        except (ValueError, SyntaxError):
            out[name] = p["default"]
    return out


def parameter_names(stem: str) -> list[str]:
    """The notebook parameters the section's function takes (every argument but ``seeds`` and the report-wide
    ``SECTION_KEYS``, which come from the profile's common block as ``ctx.<key>``); [] for none."""
    request = SECTIONS.get(stem)
    return [] if request is None else [k for k in inspect.signature(request).parameters
                                       if k != "seeds" and k not in SECTION_KEYS]


def report_wide(stem: str, common: dict) -> dict:
    """The ``SECTION_KEYS`` the section's function takes, from the profile's common block (None when unset)."""
    request = SECTIONS.get(stem)
    return {} if request is None else {k: common.get(k) for k in inspect.signature(request).parameters
                                       if k in SECTION_KEYS}


def notebook_requests(notebook: Path, given: dict, profile: str) -> dict[str, Runs]:
    """The groups of runs ``notebook`` fetches when run with ``given`` (a profile's parameters for it; its
    declared defaults fill the rest) on ``profile``; {} for a notebook without runs.

    Raises ``ProfileError`` naming the notebook: a parameter its function takes that it does not declare,
    or a bad value (an unknown method label)."""
    from .context import settings

    request = SECTIONS.get(notebook.stem)
    if request is None:
        return {}
    params = {**notebook_defaults(notebook), **given}
    missing = [k for k in parameter_names(notebook.stem) if k not in params]
    if missing:
        raise ProfileError(f"notebook {notebook.name} does not declare {missing}, which "
                           f"requests.{request.__name__} takes")
    try:
        common = settings(given.get("profile", profile), params.get("overrides"))
        return request(list(common.get("seeds", [0])), **{k: params[k] for k in parameter_names(notebook.stem)},
                       **report_wide(notebook.stem, common))
    except ValueError as e:
        raise ProfileError(f"notebook {notebook.name}: {e}") from None


def report_configs(steps: list[tuple[Path, dict]], profile: str) -> dict:
    """Every configuration the notebooks of ``steps`` (``runner.notebook_parameters``) fetch, keyed
    ``(notebook, method, seed)``. Each notebook's base comes from ``context.resolve`` with its own
    parameters (``overrides``, ``on_bad_label``), as its ``start`` builds it."""
    from .context import resolve

    out: dict = {}
    for notebook, given in steps:
        groups = notebook_requests(notebook, given, profile)
        if not groups:
            continue
        params = {**notebook_defaults(notebook), **given}
        base, _, _, _ = resolve(given.get("profile", profile), params.get("overrides"), params.get("on_bad_label"))
        for methods, at in groups.values():
            for key, cfg in configs(base, methods, at).items():
                out[(notebook.stem, *key)] = cfg
    return out

"""Report profiles: one YAML file per profile under ``notebooks/profiles/``.

    common:            # read by every notebook (lib.report.context.start): TrainConfig fields and the report's
      epochs: 12       # own keys (seeds, jobs, executor, synthetic_images, synthetic, tuning, tuning_seeds);
      seeds: [0, 1, 2] # unset fields keep TrainConfig's defaults, the one set of defaults
    notebooks:
      02_gradnorm:     # passed to this notebook only (each key must be a parameter it declares)
        alpha: 1.5

``default`` is what ``make report`` runs (three seeds), ``full`` trains longer
with the full sweeps, ``smoke`` is seconds per notebook for the tests. Every key is
checked when the profile is loaded, before anything runs.
"""
from __future__ import annotations

from pathlib import Path

import yaml

from ..config import TrainConfig, field_names

REPO_ROOT = Path(__file__).resolve().parents[2]
NOTEBOOKS = REPO_ROOT / "notebooks"
PROFILES = NOTEBOOKS / "profiles"


# Keys of a profile's common block that are the report's, not a training run's.
REPORT_KEYS = ("seeds", "jobs", "executor", "synthetic_images", "synthetic", "tuning", "tuning_seeds")
# The report keys a section's run requests take (``lib.report.tuning``), read by notebooks as ``ctx.<key>``.
SECTION_KEYS = ("tuning", "tuning_seeds")


class ProfileError(ValueError):
    pass


def check_common(common: dict, where: str) -> dict:
    """``common`` (or a notebook's ``overrides``) checked: every key known, every value one a run accepts.

    Raises ``ProfileError`` naming ``where``, the unknown keys and the known ones, or the bad value."""
    if not isinstance(common, dict):
        raise ProfileError(f"{where}: must be a mapping of settings, got {common!r}")
    known = set(field_names()) | set(REPORT_KEYS)
    unknown = sorted(set(common) - known)
    if unknown:
        raise ProfileError(f"{where}: unknown keys {unknown}; known: TrainConfig fields {field_names()} "
                           f"and report keys {list(REPORT_KEYS)}")
    try:
        TrainConfig(**{k: v for k, v in common.items() if k not in REPORT_KEYS})
    except (TypeError, ValueError) as e:
        raise ProfileError(f"{where}: {e}") from None
    seeds, jobs = common.get("seeds", [0]), common.get("jobs", 1)
    if not (isinstance(seeds, list) and seeds and all(isinstance(x, int) for x in seeds)):
        raise ProfileError(f"{where}: seeds must be a non-empty list of integers, got {seeds!r}")
    if not (isinstance(jobs, int) and jobs >= 1):
        raise ProfileError(f"{where}: jobs must be an integer >= 1, got {jobs!r}")
    from ..experiments.executors import ExecutorError, ExecutorSpec

    try:
        ExecutorSpec.parse(common.get("executor"))
    except (ExecutorError, TypeError) as e:
        raise ProfileError(f"{where}: {e}") from None
    tuning, at = common.get("tuning"), common.get("tuning_seeds")
    if tuning is not None and not (isinstance(tuning, dict) and all(isinstance(v, list) for v in tuning.values())):
        raise ProfileError(f"{where}: tuning must map a row to a list of method labels, got {tuning!r}")
    if at is not None and not (isinstance(at, list) and at and all(isinstance(x, int) for x in at)):
        raise ProfileError(f"{where}: tuning_seeds must be a non-empty list of integers, got {at!r}")
    synthetic = common.get("synthetic")
    if synthetic is not None:
        from ..data import SyntheticConfig

        try:
            if not isinstance(synthetic, dict):
                raise TypeError(f"expected a mapping of SyntheticConfig fields, got {synthetic!r}")
            SyntheticConfig(**synthetic)
        except (TypeError, ValueError) as e:
            raise ProfileError(f"{where}: synthetic: {e}") from None
    images = common.get("synthetic_images")
    if images is not None and not (isinstance(images, list) and len(images) == 3
                                   and all(isinstance(n, int) and n >= 1 for n in images)):
        raise ProfileError(f"{where}: synthetic_images must be [train, val, test] sizes >= 1, got {images!r}")
    return common


def available_profiles() -> list[str]:
    return sorted(p.stem for p in PROFILES.glob("*.yaml"))


def notebook_paths() -> list[Path]:
    """The report's notebooks in section order (file names start with their number: 01_, 02_, 02b_, ...)."""
    return sorted(p for p in NOTEBOOKS.glob("[0-9][0-9]*_*.ipynb"))


def load_profile(name: str) -> dict:
    path = PROFILES / f"{name}.yaml"
    if not path.exists():
        raise ProfileError(f"unknown profile {name!r}: no {path}; available: {', '.join(available_profiles())}")
    try:
        data = yaml.safe_load(path.read_text()) or {}
    except yaml.YAMLError as e:
        raise ProfileError(f"{path}: not valid YAML: {e}") from None
    unknown = set(data) - {"common", "notebooks"}
    if unknown:
        raise ProfileError(f"{path}: unknown top-level keys {sorted(unknown)}; expected 'common' and 'notebooks'")
    data["common"] = check_common(data.get("common") or {}, f"{path}: common")
    data["notebooks"] = data.get("notebooks") or {}
    data["name"] = name
    return data


def parameters_for(profile: dict, notebook: Path, declared: set[str]) -> dict:
    """The profile's name and the notebook's own section (every key must be declared there).

    The common block is not passed: the notebook reads it from the profile (``context.start``)."""
    own = profile["notebooks"].get(notebook.stem, {}) or {}
    unknown = set(own) - declared
    if unknown:
        raise ProfileError(f"profile {profile['name']!r}, notebook {notebook.name}: "
                           f"unknown parameters {sorted(unknown)}; the notebook declares {sorted(declared)}")
    if "overrides" in own:
        check_common(own["overrides"], f"profile {profile['name']!r}, notebook {notebook.name}: overrides")
    params = {"profile": profile["name"]} if "profile" in declared else {}
    params.update(own)
    return params

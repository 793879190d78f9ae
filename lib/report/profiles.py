"""Report profiles: one YAML file per profile under ``notebooks/profiles/``.

    common:            # given to every notebook that declares the parameter
      epochs: 12
    notebooks:
      02_gradnorm:     # given to this notebook only (must be declared there)
        alpha: 1.5

``default`` is what ``make report`` runs, ``full`` adds seeds and epochs for
intervals, ``smoke`` is seconds per notebook for the tests.
"""
from __future__ import annotations

from pathlib import Path

import yaml

REPO_ROOT = Path(__file__).resolve().parents[2]
NOTEBOOKS = REPO_ROOT / "notebooks"
PROFILES = NOTEBOOKS / "profiles"


class ProfileError(ValueError):
    pass


def available_profiles() -> list[str]:
    return sorted(p.stem for p in PROFILES.glob("*.yaml"))


def notebook_paths() -> list[Path]:
    """The report's notebooks in section order (file names start with their number)."""
    return sorted(p for p in NOTEBOOKS.glob("[0-9][0-9]_*.ipynb"))


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
    data.setdefault("common", {})
    data.setdefault("notebooks", {})
    data["common"]["profile"] = name
    return data


def parameters_for(profile: dict, notebook: Path, declared: set[str]) -> dict:
    """Common parameters the notebook declares, plus its own section (every key must be declared)."""
    own = profile["notebooks"].get(notebook.stem, {}) or {}
    unknown = set(own) - declared
    if unknown:
        raise ProfileError(f"profile {profile['common']['profile']!r}, notebook {notebook.name}: "
                           f"unknown parameters {sorted(unknown)}; the notebook declares {sorted(declared)}")
    params = {k: v for k, v in profile["common"].items() if k in declared}
    params.update(own)
    return params

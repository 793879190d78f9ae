"""The first call of every report notebook: read its profile, check its parameters, give it what it needs.

    ctx = start("02_gradnorm", profile=profile, output_dir=output_dir, overrides=overrides,
                on_bad_label=on_bad_label)
    wanted = requests.gradnorm(ctx.seeds)   # the section's runs, declared in lib/report/requests.py
    runs = ctx.runs(*wanted["core"])

The training settings come from one place: ``TrainConfig``'s defaults, then
the profile's ``common`` block, then the notebook's ``overrides``. Bad
settings (an unknown key, epochs < 1, a data path that does not exist) raise
``ValueError`` naming the setting, before anything is written or trained (an
unknown method: ``requests``). Without ``output_dir`` (run by hand) the
section writes to ``scratch/<profile>/``, never to ``reports/`` (``Section``).
"""
from __future__ import annotations

import os
from dataclasses import dataclass, field
from pathlib import Path

from ..config import TrainConfig
from ..data import SyntheticConfig, ensure_synthetic, resolve_data
from ..experiments.batch import get_or_train_all
from ..experiments.executors import ExecutorSpec
from ..experiments.methods import configs
from ..store.paths import data_root
from .profiles import REPORT_KEYS, check_common, load_profile
from .section import Section


@dataclass
class Context:
    section: Section
    base: TrainConfig              # the configuration every run of this section starts from
    data_yaml: Path                # the data set actually used
    seeds: list[int]
    jobs: int = 1                  # runs trained side by side
    store: object = field(repr=False, default=None)
    tuning: dict | None = None     # row -> settings (lib.report.tuning); None: its DEFAULT_TUNING
    tuning_seeds: list[int] | None = None  # seeds every setting trains at; None: the first seed
    executor: ExecutorSpec | None = None    # where missing runs train (lib.experiments.executors); None: local

    def runs(self, methods, seeds=None, **overrides) -> dict:
        """Runs of ``methods`` x ``seeds`` (default: the section's), trained if missing. Keys: (method, seed)."""
        base = self.base.replace(**overrides) if overrides else self.base
        return get_or_train_all(configs(base, methods, self.seeds if seeds is None else seeds), self.store, self.jobs,
                                self.executor)

    def table(self, df, name, runs=(), index=True):
        return self.section.table(df, name, runs, index)

    def figure(self, fig, name, runs=()):
        return self.section.figure(fig, name, runs)


def resolve_dataset(data: str | None, synthetic_images, synthetic: dict | None = None) -> tuple[str | None, Path]:
    """(value for TrainConfig.data, data.yaml path). The default synthetic set keeps ``data=None``;
    ``synthetic_images`` ([train, val, test]) and ``synthetic`` (other ``SyntheticConfig`` fields, e.g.
    ``view_coupling``) generate another one."""
    if data is not None:
        path = Path(data).expanduser().resolve()
        if not path.is_file():
            raise ValueError(f"setting data: no such file {data!r} (give a data.yaml, or None for the synthetic set)")
        return str(path), path
    if synthetic_images is None and not synthetic:
        return None, resolve_data(None)
    sizes = {} if synthetic_images is None else dict(zip(("n_train", "n_val", "n_test"), map(int, synthetic_images)))
    path = ensure_synthetic(SyntheticConfig(**sizes, **(synthetic or {})), root=data_root())
    return str(path), path


def jobs_of(common: dict) -> int:
    """Runs (and notebooks) side by side: ``$ECHO_MTL_JOBS`` where set (``python -m lib.report --jobs`` sets it
    for the notebooks it runs), else the profile's ``jobs``. Raises ``ValueError`` naming a bad value."""
    given = os.environ.get("ECHO_MTL_JOBS")
    if not given:
        return int(common.get("jobs", 1))
    if not given.isdigit() or int(given) < 1:
        raise ValueError(f"ECHO_MTL_JOBS={given!r}: expected an integer >= 1")
    return int(given)


def executor_of(common: dict) -> ExecutorSpec:
    """Where a report's missing runs train: the profile's ``executor``, its kind replaced by
    ``$ECHO_MTL_EXECUTOR`` where set (``python -m lib.report --executor`` sets it for the notebooks it runs)."""
    return ExecutorSpec.parse(common.get("executor"), os.environ.get("ECHO_MTL_EXECUTOR") or None)


WEIGHTS_ENV = "ECHO_MTL_WEIGHTS"  # python -m lib.report --weights PATH: every run starts from PATH


def settings(profile: str, overrides: dict | None = None) -> dict:
    """The profile's common block, then ``$ECHO_MTL_WEIGHTS`` as ``weights`` where set, then ``overrides`` on top,
    every key and value checked."""
    common = dict(load_profile(profile)["common"])
    if os.environ.get(WEIGHTS_ENV):
        common["weights"] = os.environ[WEIGHTS_ENV]
    if overrides:
        common.update(check_common(dict(overrides), "parameter overrides"))
        check_common(common, f"profile {profile!r} with overrides")
    return common


def resolve(profile: str = "default", overrides: dict | None = None,
            on_bad_label: str | None = None) -> tuple[TrainConfig, Path, list[int], int]:
    """(base configuration, data.yaml, seeds, jobs) of a notebook run with these parameters; the synthetic
    set is generated if it is missing. ``on_bad_label`` ("error" or "skip"), when given, is an override like
    any other (``TrainConfig``)."""
    if on_bad_label is not None:
        overrides = {**(overrides or {}), "on_bad_label": on_bad_label}
    common = settings(profile, overrides)
    train = {k: v for k, v in common.items() if k not in REPORT_KEYS}
    train["data"], data_yaml = resolve_dataset(train.get("data"), common.get("synthetic_images"),
                                               common.get("synthetic"))
    return TrainConfig(**train), data_yaml, list(common.get("seeds", [0])), jobs_of(common)


def start(section: str, *, profile: str = "default", output_dir: str | None = None, overrides: dict | None = None,
          on_bad_label: str | None = None) -> Context:
    """The notebook's ``Context``. Also lets pandas show every cell of a displayed table whole (its default
    cuts text at 50 characters, and the report's sentences and reasons are longer)."""
    base, data_yaml, seeds, jobs = resolve(profile, overrides, on_bad_label)
    import pandas as pd

    from ..store.runs import RunStore

    pd.set_option("display.max_colwidth", None)

    common = settings(profile, overrides)
    return Context(Section(section, profile, output_dir), base, data_yaml, seeds, jobs, RunStore(),
                   common.get("tuning"), common.get("tuning_seeds"), executor_of(common))

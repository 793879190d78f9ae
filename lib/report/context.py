"""The first call of every report notebook: check its parameters, then give it what it needs.

    ctx = start("02_gradnorm", profile=profile, output_dir=output_dir, data=data, ...)

Bad parameters (an unknown method, epochs < 1, a data path that does not
exist) raise ``ValueError`` naming the parameter, before anything trains.
"""
from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path

from ..config import TrainConfig
from ..experiments import configs, fetch, method
from .section import Section


@dataclass
class Context:
    section: Section
    base: TrainConfig              # the configuration every run of this section starts from
    data_yaml: Path                # the data set actually used
    seeds: list[int]
    jobs: int = 1                  # runs trained side by side
    store: object = field(repr=False, default=None)

    def runs(self, methods, seeds=None, **overrides) -> dict:
        """Runs of ``methods`` x ``seeds`` (default: the section's), trained if missing. Keys: (method, seed)."""
        base = self.base.replace(**overrides) if overrides else self.base
        return fetch(configs(base, methods, self.seeds if seeds is None else seeds), self.store, self.jobs)

    def table(self, df, name, runs=(), index=True):
        return self.section.table(df, name, runs, index)

    def figure(self, fig, name, runs=()):
        return self.section.figure(fig, name, runs)


def _check(cond: bool, message: str) -> None:
    if not cond:
        raise ValueError(message)


def resolve_dataset(data: str | None, synthetic_images) -> tuple[str | None, Path]:
    """(value for TrainConfig.data, data.yaml path). The default synthetic set keeps ``data=None``."""
    from ..data import SyntheticConfig, ensure_synthetic
    from ..train import DEFAULT_DATA_ROOT, resolve_data

    if data is not None:
        path = Path(data).expanduser().resolve()
        _check(path.is_file(), f"parameter data: no such file {data!r} (give a data.yaml, or None for the synthetic set)")
        return str(path), path
    if synthetic_images is None:
        return None, resolve_data(None)
    _check(len(synthetic_images) == 3 and all(int(n) >= 1 for n in synthetic_images),
           f"parameter synthetic_images: need [train, val, test] sizes >= 1, got {synthetic_images!r}")
    n_train, n_val, n_test = (int(n) for n in synthetic_images)
    path = ensure_synthetic(SyntheticConfig(n_train=n_train, n_val=n_val, n_test=n_test), root=DEFAULT_DATA_ROOT)
    return str(path), path


def start(section: str, *, profile: str = "default", output_dir: str | None = None, data: str | None = None,
          synthetic_images=None, imgsz: int = 128, scale: str = "cpu", epochs: int = 8, batch_size: int = 16,
          seeds=(0,), device: str = "auto", methods=(), probe_every: int = 10, eval_every: int = 1,
          threads: int = 0, jobs: int = 1, **train_options) -> Context:
    _check(isinstance(epochs, int) and epochs >= 1, f"parameter epochs must be an integer >= 1, got {epochs!r}")
    _check(isinstance(batch_size, int) and batch_size >= 1, f"parameter batch_size must be >= 1, got {batch_size!r}")
    _check(len(list(seeds)) >= 1 and all(isinstance(s, int) for s in seeds),
           f"parameter seeds must be a non-empty list of integers, got {seeds!r}")
    for m in methods:
        try:
            method(m)
        except ValueError as e:
            raise ValueError(f"parameter methods: {e}") from None
    data_value, data_yaml = resolve_dataset(data, synthetic_images)
    try:
        base = TrainConfig(data=data_value, imgsz=imgsz, scale=scale, epochs=epochs, batch_size=batch_size,
                           device=device, probe_every=probe_every, eval_every=eval_every, threads=threads,
                           **train_options)
    except (TypeError, ValueError) as e:
        raise ValueError(f"invalid training parameters: {e}") from None
    from ..runstore import RunStore

    _check(isinstance(jobs, int) and jobs >= 1, f"parameter jobs must be an integer >= 1, got {jobs!r}")
    return Context(Section(section, profile, output_dir), base, data_yaml, [int(s) for s in seeds], jobs, RunStore())

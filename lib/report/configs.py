"""Section 1's configuration table, read from the stored configurations of the runs the report used.

Nothing here restates a default: every value is a field of a run's
``config.json`` (``TrainConfig``) or a figure the run measured (steps per
epoch from its history, parameters from its metrics).
"""
from __future__ import annotations

import json

import pandas as pd

from ..config import field_names


def _cell(value) -> object:
    if isinstance(value, dict):
        return ", ".join(f"{k}={v}" for k, v in value.items()) or "defaults"
    return "synthetic benchmark" if value is None else value


def config_table(runs: dict) -> pd.DataFrame:
    """Rows: every ``TrainConfig`` field, then measured figures; columns: the runs' labels.

    ``runs`` maps a label (e.g. a method) to a ``Run``. A field equal in every run shows one value in
    the column ``all runs`` and is blank elsewhere, so what differs between runs stands out."""
    rows = {}
    for name in field_names():
        values = {label: _cell(getattr(r.config, name)) for label, r in runs.items()}
        same = len({json.dumps(v, sort_keys=True, default=str) for v in values.values()}) == 1
        rows[name] = {"all runs": next(iter(values.values()))} if same else values
    rows["steps per epoch (measured)"] = {label: int(r.history.groupby("epoch").size().iloc[0])
                                         for label, r in runs.items()}
    rows["parameters (counted)"] = {label: int(r.metrics["parameters"]) for label, r in runs.items()}
    rows["device (resolved)"] = {label: r.metrics["device"] for label, r in runs.items()}
    table = pd.DataFrame.from_dict(rows, orient="index")
    table = table[["all runs", *runs]] if "all runs" in table else table[list(runs)]
    return table.astype(object).where(table.notna(), "")  # blank: the value is in another column

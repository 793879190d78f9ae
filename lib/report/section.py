"""What a report notebook writes: tables (CSV) and figures (PNG), each with the runs behind it.

    sec = Section("02_gradnorm", profile="default")
    sec.table(df, "core_metrics", runs=[run])     # reports/default/02_gradnorm/tables/core_metrics.csv
    sec.figure(fig, "weight_curves", runs=[run])  # reports/default/02_gradnorm/figures/weight_curves.png

``sources.json`` beside them maps every artefact to the run keys it came from
(rewritten atomically after each artefact, so a failed notebook leaves a
consistent, if shorter, list).

An undefined value (NaN: e.g. detection metrics of a split without
ground-truth objects) is an empty cell in the CSV and ``n/a`` in the table
the notebook shows (``Shown``).
"""
from __future__ import annotations

import json
from pathlib import Path

import pandas as pd
from pandas.io.formats.format import get_dataframe_repr_params

from ..atomic import write_bytes, write_text
from .profiles import REPO_ROOT
from .stats import NA


def report_dir(profile: str, output_dir: str | None = None) -> Path:
    return Path(output_dir) if output_dir else REPO_ROOT / "reports" / profile


class Shown(pd.DataFrame):
    """A table as readers see it: NaN (an undefined value) displays as ``n/a``, in HTML and as text.

    The values stay NaN (it is a ``DataFrame``); anything computed from it is a plain ``DataFrame``.
    """

    @property
    def _constructor(self):
        return pd.DataFrame

    def _repr_html_(self) -> str:
        return self.to_html(na_rep=NA, notebook=True, max_rows=pd.get_option("display.max_rows"),
                            max_cols=pd.get_option("display.max_columns"),
                            show_dimensions=pd.get_option("display.show_dimensions"),
                            float_format=pd.get_option("display.float_format"))

    def __repr__(self) -> str:  # pandas' own repr parameters, documented for adjusting the repr
        return self.to_string(na_rep=NA, float_format=pd.get_option("display.float_format"),
                              **get_dataframe_repr_params())


class Section:
    def __init__(self, name: str, profile: str = "default", output_dir: str | None = None):
        self.name = name
        self.dir = report_dir(profile, output_dir) / name
        (self.dir / "tables").mkdir(parents=True, exist_ok=True)
        (self.dir / "figures").mkdir(parents=True, exist_ok=True)
        self.sources: dict[str, list[str]] = {}

    def _record(self, artefact: str, runs) -> None:
        keys = []
        for r in runs or ():
            keys.append(r if isinstance(r, str) else r.path.name)
        self.sources[artefact] = sorted(set(keys))
        write_text(self.dir / "sources.json", json.dumps(self.sources, indent=2, sort_keys=True))

    def table(self, df: pd.DataFrame, name: str, runs=(), index: bool = True) -> pd.DataFrame:
        """Write ``df`` as ``tables/<name>.csv`` (NaN as an empty cell) and return it for display
        (``Shown``: NaN as ``n/a``)."""
        write_text(self.dir / "tables" / f"{name}.csv", df.to_csv(index=index, float_format="%.6g"))
        self._record(f"tables/{name}.csv", runs)
        return Shown(df)

    def figure(self, fig, name: str, runs=(), dpi: int = 110):
        """Write ``fig`` as ``figures/<name>.png`` and return it (the inline backend shows it)."""
        import io

        buf = io.BytesIO()
        fig.savefig(buf, format="png", dpi=dpi, bbox_inches="tight", metadata={"Software": None})
        write_bytes(self.dir / "figures" / f"{name}.png", buf.getvalue())
        self._record(f"figures/{name}.png", runs)
        return fig

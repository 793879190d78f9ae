"""What a report notebook writes: tables (CSV) and figures (PNG), each with the runs behind it.

    sec = Section("02_gradnorm", profile="default", output_dir="reports/default")
    sec.table(df, "core_metrics", runs=[run])     # reports/default/02_gradnorm/tables/core_metrics.csv
    sec.figure(fig, "weight_curves", runs=[run])  # reports/default/02_gradnorm/figures/weight_curves.png

Only the runner writes the published report: it always passes ``output_dir``
(``reports/<profile>/`` unless told otherwise). A notebook run by hand (no
``output_dir``) writes to ``scratch/<profile>/`` (git-ignored) and says so, so
it never replaces tables that the report's index and ``provenance.json``
describe.

``sources.json`` beside them maps every artefact to the run keys it came from
(rewritten atomically after each artefact, so a failed notebook leaves a
consistent, if shorter, list).

A table's CSV keeps every digit (an undefined value, NaN, is an empty cell);
the notebook shows it formatted for a reader (``lib.report.tables``).
"""
from __future__ import annotations

import json
from pathlib import Path

import pandas as pd

from ..store.atomic import write_bytes, write_text
from .profiles import REPO_ROOT
from .tables import Shown


def report_dir(profile: str, output_dir: str | None = None) -> Path:
    """Where the runner writes the report of ``profile``: ``output_dir``, or ``reports/<profile>/``."""
    return Path(output_dir) if output_dir else REPO_ROOT / "reports" / profile


def scratch_dir(profile: str) -> Path:
    """Where a notebook run by hand writes: ``scratch/<profile>/``, outside ``reports/``."""
    return REPO_ROOT / "scratch" / profile


class Section:
    def __init__(self, name: str, profile: str = "default", output_dir: str | None = None):
        self.name = name
        if output_dir is None:  # run by hand: never over the published report
            self.dir = scratch_dir(profile) / name
            print(f"run by hand (no output_dir): tables and figures go to {self.dir}; "
                  f"reports/{profile}/ is written only by `python -m lib.report`")
        else:
            self.dir = Path(output_dir) / name
        for kind in ("tables", "figures"):  # a rebuilt section keeps nothing from an earlier build
            folder = self.dir / kind
            if folder.is_dir():
                for old in folder.iterdir():
                    if old.is_file():
                        old.unlink()
            folder.mkdir(parents=True, exist_ok=True)
        self.sources: dict[str, list[str]] = {}

    def _record(self, artefact: str, runs) -> None:
        keys = []
        for r in runs or ():
            keys.append(r if isinstance(r, str) else r.path.name)
        self.sources[artefact] = sorted(set(keys))
        write_text(self.dir / "sources.json", json.dumps(self.sources, indent=2, sort_keys=True))

    def table(self, df: pd.DataFrame, name: str, runs=(), index: bool = True) -> pd.DataFrame:
        """Write ``df`` as ``tables/<name>.csv`` (NaN as an empty cell) and return it for display
        (``Shown``: formatted for a reader, NaN as ``n/a``)."""
        write_text(self.dir / "tables" / f"{name}.csv", df.to_csv(index=index))  # full precision
        self._record(f"tables/{name}.csv", runs)
        shown = Shown(df)
        shown.attrs["show_index"] = index
        return shown

    def figure(self, fig, name: str, runs=(), dpi: int = 110):
        """Write ``fig`` as ``figures/<name>.png`` and return it (the inline backend shows it)."""
        import io

        buf = io.BytesIO()
        fig.savefig(buf, format="png", dpi=dpi, bbox_inches="tight", metadata={"Software": None})
        write_bytes(self.dir / "figures" / f"{name}.png", buf.getvalue())
        self._record(f"figures/{name}.png", runs)
        return fig

"""`make bench`'s tables as markdown pages, ``docs/bench/<name>.md``, so the docs cite files, not typed-in numbers.

    pages = write_pages(tables_written(OUT, since=started))    # after a full `python -m benchmarks`

Each page holds one benchmark's table (the CSV under ``reports/bench/``, every value written as the report
writes it: four significant figures, separators, ``n/a``), the date and the machine that measured it
(``lib.report.provenance``: commit, platform, processor, cores, torch threads, GPU).
"""
from __future__ import annotations

import os
from pathlib import Path

import pandas as pd

from lib.report.readme import markdown_table
from lib.report.tables import format_value
from lib.store.atomic import write_text
from lib.store.paths import REPO_ROOT

DOCS = REPO_ROOT / "docs" / "bench"


def machine(prov: dict) -> str:
    """One line naming where and when a benchmark ran, from ``lib.report.provenance.collect()``."""
    git = prov.get("git") or {}
    commit = str(git.get("commit") or "unknown")[:12] + (" with uncommitted changes" if git.get("dirty") else "")
    return (f"{prov.get('created', 'date unknown')}, commit `{commit}`; {prov.get('platform', '?')}, "
            f"{prov.get('processor', '?')}, {prov.get('cpu_count', os.cpu_count())} cores, "
            f"{prov.get('torch_threads', '?')} torch threads; GPU: {prov.get('cuda') or 'none'}; "
            f"torch {(prov.get('packages') or {}).get('torch', '?')}")


def page(name: str, df: pd.DataFrame, prov: dict, command: str | None = None, note: str = "") -> str:
    """The markdown page of table ``df`` (columns as they are; reset the index first to show it), written by
    ``command`` (a benchmark run alone names its module; None: ``make bench``), with ``note`` under the table."""
    header = [str(c) for c in df.columns]
    rows = [[format_value(v) for v in row] for row in df.itertuples(index=False)]
    by = f"`{command}`" if command else "`make bench` (`python -m benchmarks`)"
    return (f"# {name}\n\nWritten by {by}, {machine(prov)}.\n"
            f"Every digit: `reports/bench/{name}.csv`. Do not edit: the next `{command or 'make bench'}` rewrites "
            f"this page.\n\n{markdown_table(header, rows)}\n" + (f"\n{note}\n" if note else ""))


def tables_written(folder: Path, since: float) -> dict[str, pd.DataFrame]:
    """The CSV tables in ``folder`` written at or after ``since`` (``time.time()``), by name, index as columns."""
    paths = sorted(p for p in folder.glob("*.csv") if p.stat().st_mtime >= since)
    return {p.stem: pd.read_csv(p).rename(columns=_unnamed) for p in paths}


def _unnamed(column) -> str:
    """pandas names an index column without a name ``Unnamed: 0``; the page leaves its header empty."""
    return "" if str(column).startswith("Unnamed: ") else column


def write_pages(tables: dict[str, pd.DataFrame], out: Path | None = None, prov: dict | None = None) -> list[Path]:
    """``out/<name>.md`` (default ``docs/bench``) for every table, written atomically; returns the paths."""
    if prov is None:
        from lib.report.provenance import collect

        prov = {**collect(), "cpu_count": os.cpu_count()}
    out = Path(out or DOCS)
    paths = []
    for name, df in tables.items():
        write_text(out / f"{name}.md", page(name, df, prov))
        paths.append(out / f"{name}.md")
    return paths


def write_page(name: str, df: pd.DataFrame, prov: dict, command: str, note: str = "") -> Path:
    """``docs/bench/<name>.md`` of a benchmark run alone (``command``), ``prov`` collected when it began."""
    path = DOCS / f"{name}.md"
    write_text(path, page(name, df, prov, command, note))
    return path

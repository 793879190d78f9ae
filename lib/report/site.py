"""The report as a small site: an index that gives the answer first, and section pages linked in order.

    pages = [Page(nb.stem, title_of(nb)) for nb in notebooks]      # titles: each notebook's first heading
    html = render_page(executed_nb, show_code, pages, i)             # nav at top and bottom of page i
    write_index(out_dir, done_pages, profile, prov)                  # reports/<profile>/index.html

The index opens with the headline comparison of section ``04_comparison`` (methods x mAP@0.5, view
accuracy and Delta-m%, with their 95% intervals where there are several seeds, read from
``tables/comparison_numbers.csv``) and the figure that carries it (``figures/pareto.png``, linked, not
copied), then lists the sections with their run times. A report that did not run the comparison (``--only``
a subset) says the headline is not available rather than showing an earlier run's tables. Each section page
carries ``Index · ← previous · next →`` at its top and bottom. Nothing on the index changes between two
builds of the same runs except the provenance line (date, seconds).

Why nbconvert and not a site builder (Jupyter Book / Sphinx): the runner already has every executed
notebook and converts it with nbconvert; the navigation is an extension of nbconvert's own ``lab``
template (its ``body_header`` / ``body_footer`` blocks, filled from ``resources``), and the index is one
autoescaped Jinja2 template (Jinja2 comes with nbconvert). Jupyter Book would re-render the same notebooks
through Sphinx and add a heavy dependency that is not installed (CI installs from ``pyproject.toml``) and
build time, for nine pages and an index.
"""
from __future__ import annotations

import math
from dataclasses import dataclass
from pathlib import Path

import pandas as pd
from jinja2 import Environment
from markupsafe import Markup

from ..experiments.methods import SINGLE_TASK
from ..store.atomic import write_text
from .stats import CUT_NOTE, NA, bounds_of, format_ci

TEMPLATES = Path(__file__).with_name("templates")  # index.html.j2; page.html.j2 (nbconvert's lab
# template with the nav inside <main>, before the first cell and after the last); nav.css
HEADLINE_SECTION = "04_comparison"
HEADLINE_TABLES = ("tables/comparison_numbers.csv", "tables/comparison.csv")  # numbers first; shown strings as fallback
HEADLINE_FIGURE = "figures/pareto.png"
REFERENCES = SINGLE_TASK  # the single-task runs that define Delta-m%
# (column in comparison_numbers.csv, its name in comparison.csv, header shown, decimals)
HEADLINE_COLUMNS = (("mAP50", "mAP@0.5", "mAP@0.5", 3),
                    ("view_accuracy", "view accuracy", "view accuracy", 3),
                    ("delta_m %", "delta_m %", "Δm%", 1))


@dataclass(frozen=True)
class Page:
    """One section of the report: ``<stem>.html`` beside the index."""
    stem: str
    title: str
    seconds: float | None = None

    @property
    def href(self) -> str:
        return f"{self.stem}.html"


def title_of(notebook: Path) -> str:
    """The notebook's first markdown heading, or its file name."""
    import nbformat

    nb = nbformat.read(notebook, as_version=4)
    for cell in nb.cells:
        if cell.cell_type == "markdown":
            for line in cell.source.splitlines():
                if line.startswith("#"):
                    return line.lstrip("#").strip()
    return notebook.stem


# ---- section pages -------------------------------------------------------------------------------------


def nav(pages: list[Page], i: int, where: str = "top") -> Markup:
    """``Index · ← previous · next →`` for page ``i`` (no previous on the first page, no next on the last)."""
    links = [Markup('<a href="index.html" rel="index">Index</a>')]
    if i > 0:
        links.append(Markup('<a href="{}" rel="prev">← {}</a>').format(pages[i - 1].href, pages[i - 1].title))
    if i + 1 < len(pages):
        links.append(Markup('<a href="{}" rel="next">{} →</a>').format(pages[i + 1].href, pages[i + 1].title))
    return Markup('<nav class="report-nav {}" aria-label="report sections">{}</nav>').format(
        where, Markup(" · ").join(links))


def render_page(nb, show_code: bool, pages: list[Page], i: int) -> str:
    """HTML of executed notebook ``nb`` as section ``pages[i]``: code hidden unless ``show_code``, nav added."""
    from nbconvert import HTMLExporter

    exporter = HTMLExporter(template_name="lab", raw_template=(TEMPLATES / "page.html.j2").read_text(),
                            exclude_input=not show_code,
                            exclude_input_prompt=True, exclude_output_prompt=True)
    css = Markup((TEMPLATES / "nav.css").read_text())
    resources = {"metadata": {"name": pages[i].title}, "report_nav_css": css,
                 "report_nav_top": nav(pages, i, "top"), "report_nav_bottom": nav(pages, i, "bottom")}
    body, _ = exporter.from_notebook_node(nb, resources=resources)
    return body


# ---- the index -----------------------------------------------------------------------------------------

@dataclass
class Headline:
    header: list[str]
    rows: list[list[str]]
    one_seed: bool
    figure: str | None      # relative link, or None when the section wrote no figure
    section: Page


def cell(row: pd.Series, numbers_col: str, shown_col: str, digits: int) -> str:
    """A value as readers see it: ``mean [low, high]`` with the interval where there is one, ``n/a`` for NaN."""
    col = numbers_col if numbers_col in row.index else shown_col
    value = row.get(col, math.nan)
    if isinstance(value, str):  # comparison.csv: already formatted by the notebook
        return value
    return format_ci(value, row.get(f"{col} low", math.nan), row.get(f"{col} high", math.nan), digits,
                     bounds_of(numbers_col))


def read_comparison(section_dir: Path) -> pd.DataFrame | None:
    for name in HEADLINE_TABLES:
        path = section_dir / name
        if path.exists():
            return pd.read_csv(path, index_col=0, na_values=[NA])
    return None


def seeds_of(value) -> str:
    number = pd.to_numeric(value, errors="coerce")
    return NA if pd.isna(number) else f"{number:.0f}"


def row_label(method, row: pd.Series) -> str:
    """A tuned row with the setting that stands for it (``static (static_0.1)``); other rows by name."""
    setting = row.get("setting")
    return str(method) if not isinstance(setting, str) or setting == method else f"{method} ({setting})"


def headline(out_dir: Path, pages: list[Page]) -> Headline | None:
    """The comparison this report ran, or None (section not run, or it wrote no comparison table)."""
    section = next((p for p in pages if p.stem == HEADLINE_SECTION), None)
    table = read_comparison(out_dir / HEADLINE_SECTION) if section else None
    if table is None or table.empty:
        return None
    cols = [(n if n in table.columns else s, n, s, h, d) for n, s, h, d in HEADLINE_COLUMNS
            if n in table.columns or s in table.columns]
    rows = [[row_label(method, r)] + ([seeds_of(r["seeds"])] if "seeds" in table.columns else [])
            + [cell(r, n, s, d) for _, n, s, _, d in cols] for method, r in table.iterrows()]
    header = ["method"] + (["seeds"] if "seeds" in table.columns else []) + [h for *_, h, _ in cols]
    seeds = pd.to_numeric(table.get("seeds", pd.Series(dtype=float)), errors="coerce")
    has_figure = (out_dir / HEADLINE_SECTION / HEADLINE_FIGURE).exists()
    figure = f"{HEADLINE_SECTION}/{HEADLINE_FIGURE}" if has_figure else None
    return Headline(header, rows, bool(len(seeds.dropna())) and seeds.max() < 2, figure, section)


def index_html(out_dir: Path, pages: list[Page], profile: str, prov: dict) -> str:
    git = prov.get("git") or {}
    seconds = prov.get("seconds")
    source = (TEMPLATES / "index.html.j2").read_text(encoding="utf-8")
    template = Environment(autoescape=True, keep_trailing_newline=True).from_string(source)
    return template.render(
        profile=profile, commit=str(git.get("commit")), created=prov.get("created", "?"),
        dirty=" (uncommitted changes)" if git.get("dirty") else "",
        seconds=f"{seconds:.0f} s" if isinstance(seconds, (int, float)) else "? s",
        runs=len({k for nb in (prov.get("notebooks") or {}).values() for ks in nb.get("sources", {}).values() for k in ks}),
        train=hours_or_minutes(prov.get("runs_train_seconds")),
        torch=str((prov.get("packages") or {}).get("torch")), python=prov.get("python", "?"),
        h=headline(out_dir, pages), headline_section=HEADLINE_SECTION, pages=pages, answer=read_answer_of(out_dir),
        cut_note=CUT_NOTE, where=[where_sentence(w) for w in prov.get("trained_where") or []])


def where_sentence(w: dict) -> str:
    """One row of ``runtimes.training_places`` for a reader: "41 runs by executor local on host h (devices
    cpu), 95 s median and 240 s longest per run"."""
    runs = f"{w.get('runs')} run{'' if w.get('runs') == 1 else 's'}"
    if w.get("executor") == "unrecorded":
        return f"{runs} with no record of where (trained outside a batch)"
    timing = (f", {w['median_seconds']:.0f} s median and {w['max_seconds']:.0f} s longest per run"
              if isinstance(w.get("median_seconds"), (int, float)) else "")
    return f"{runs} by executor {w.get('executor')} on host {w.get('host')} (devices {w.get('devices')}){timing}"


def hours_or_minutes(seconds) -> str:
    """A cost for a reader: process-hours from one hour on, else process-minutes; "unknown time" for None."""
    if not isinstance(seconds, (int, float)):
        return "unknown time"
    return f"{seconds / 3600:.2f} process-hours" if seconds >= 3600 else f"{seconds / 60:.1f} process-minutes"


def read_answer_of(out_dir: Path) -> list[str] | None:
    """The answer's sentences from ``out_dir/verdicts.json`` (written by the conclusions section), or None."""
    from .answer_text import read_answer

    path = out_dir / "verdicts.json"
    return read_answer(path) if path.exists() else None


def write_index(out_dir: Path, pages: list[Page], profile: str, prov: dict) -> Path:
    path = out_dir / "index.html"
    write_text(path, index_html(out_dir, pages, profile, prov))
    return path

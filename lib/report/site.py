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
from .stats import NA, bounds_of, format_ci

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

NAV_CSS = """.report-nav{font-family:system-ui,sans-serif;font-size:.95em;padding:.6em 1em;background:#f6f6f6}
.report-nav.top{border-bottom:1px solid #ddd;margin-bottom:1em}
.report-nav.bottom{border-top:1px solid #ddd;margin-top:1em}"""

# nbconvert's lab template with the nav inside <main>, before the first cell and after the last
PAGE_TEMPLATE = """{%- extends 'index.html.j2' -%}
{% block extra_css %}{{ super() }}<style type="text/css">{{ resources.report_nav_css }}</style>{% endblock extra_css %}
{%- block body_header -%}{{ super() }}{{ resources.report_nav_top }}{%- endblock body_header -%}
{% block body_footer %}{{ resources.report_nav_bottom }}{{ super() }}{% endblock body_footer %}
"""


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

    exporter = HTMLExporter(template_name="lab", raw_template=PAGE_TEMPLATE, exclude_input=not show_code,
                            exclude_input_prompt=True, exclude_output_prompt=True)
    resources = {"metadata": {"name": pages[i].title}, "report_nav_css": Markup(NAV_CSS),
                 "report_nav_top": nav(pages, i, "top"), "report_nav_bottom": nav(pages, i, "bottom")}
    body, _ = exporter.from_notebook_node(nb, resources=resources)
    return body


# ---- the index -----------------------------------------------------------------------------------------

@dataclass
class Headline:
    header: list[str]
    rows: list[list[str]]
    summary: list[str]      # plain sentences, escaped by the template
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


def best_of(table: pd.DataFrame, col: str, header: str, digits: int) -> str | None:
    values = pd.to_numeric(table[col], errors="coerce").drop(index=list(REFERENCES), errors="ignore").dropna()
    if values.empty:
        return None
    best = values.idxmax()
    value = f"{values[best]:+.{digits}f}%" if header.endswith("%") else f"{values[best]:.{digits}f}"
    return f"highest {header}: {best} ({value})"


def headline(out_dir: Path, pages: list[Page]) -> Headline | None:
    """The comparison this report ran, or None (section not run, or it wrote no comparison table)."""
    section = next((p for p in pages if p.stem == HEADLINE_SECTION), None)
    table = read_comparison(out_dir / HEADLINE_SECTION) if section else None
    if table is None or table.empty:
        return None
    cols = [(n if n in table.columns else s, n, s, h, d) for n, s, h, d in HEADLINE_COLUMNS
            if n in table.columns or s in table.columns]
    rows = [[str(method)] + ([seeds_of(r["seeds"])] if "seeds" in table.columns else [])
            + [cell(r, n, s, d) for _, n, s, _, d in cols] for method, r in table.iterrows()]
    header = ["method"] + (["seeds"] if "seeds" in table.columns else []) + [h for *_, h, _ in cols]
    summary = [s for c, _, _, h, d in cols if (s := best_of(table, c, h, d))]
    seeds = pd.to_numeric(table.get("seeds", pd.Series(dtype=float)), errors="coerce")
    has_figure = (out_dir / HEADLINE_SECTION / HEADLINE_FIGURE).exists()
    figure = f"{HEADLINE_SECTION}/{HEADLINE_FIGURE}" if has_figure else None
    return Headline(header, rows, summary, bool(len(seeds.dropna())) and seeds.max() < 2, figure, section)


INDEX_TEMPLATE = """<!doctype html>
<html lang="en"><head><meta charset="utf-8">
<meta name="viewport" content="width=device-width, initial-scale=1.0">
<title>Gradient interference report ({{ profile }})</title>
<style>body{font-family:system-ui,sans-serif;max-width:56em;margin:2em auto;padding:0 1em;line-height:1.5}
.t,.note{color:#666} code{background:#f4f4f4;padding:0 .2em}
table.headline{border-collapse:collapse;margin:1em 0}
table.headline th,table.headline td{padding:.25em .7em;border-bottom:1px solid #ddd;text-align:right}
table.headline th:first-child,table.headline td:first-child{text-align:left}
figure{margin:1em 0} figure img{max-width:100%;height:auto}</style></head>
<body>
<h1>YOLOv5WithClassification <span lang="zh-Hant">梯度干擾</span> / gradient interference: measured report</h1>
<p class="provenance">Profile <code>{{ profile }}</code>; commit <code>{{ commit }}</code>{{ dirty }};
created {{ created }}; {{ seconds }} in all; torch {{ torch }}, Python {{ python }}.
Every table and figure below was computed by the notebooks from logged runs
(<code>provenance.json</code>, and each section's <code>sources.json</code>, name the runs).</p>
<h2>Headline: detection, view classification and their balance</h2>
{% if h %}
<table class="headline">
<thead><tr>{% for c in h.header %}<th>{{ c }}</th>{% endfor %}</tr></thead>
<tbody>{% for r in h.rows %}
<tr>{% for v in r %}<td>{{ v }}</td>{% endfor %}</tr>{% endfor %}
</tbody></table>
<p class="note">Test split; mean over seeds with a 95% Student-t interval in brackets where there are several
seeds. Δm% is the mean relative change of mAP@0.5, mAP@0.5:0.95 and view accuracy against the single-task
references (det_only, view_only), which therefore have none.
{% if h.summary %}Point estimates: {{ h.summary | join("; ") }}.{% endif %}
{% if h.one_seed %}One seed per method: the differences are single measurements, not established.{% endif %}</p>
{% if h.figure %}<figure>
<img src="{{ h.figure }}" alt="Test mAP@0.5 against view accuracy, one point per method; the Pareto front in red">
<figcaption>Each method's detection (mAP@0.5) against view classification (accuracy) on the test split;
red points and line: the Pareto front (no other method better on both).</figcaption></figure>
{% else %}<p class="note">The comparison section wrote no figure.</p>{% endif %}
<p>All columns, costs and the applicability analysis: <a href="{{ h.section.href }}">{{ h.section.title }}</a>.</p>
{% else %}
<p class="note">The headline comparison is not available: this report did not run the comparison section
(<code>{{ headline_section }}</code>), or it wrote no comparison table. The sections it ran are listed below.</p>
{% endif %}
<h2>Sections</h2>
<ul>
{% for p in pages %}<li><a href="{{ p.href }}">{{ p.title }}</a>
{%- if p.seconds is not none %} <span class="t">({{ "%.0f" | format(p.seconds) }} s)</span>{% endif %}</li>
{% endfor %}</ul>
</body></html>
"""


def index_html(out_dir: Path, pages: list[Page], profile: str, prov: dict) -> str:
    git = prov.get("git") or {}
    seconds = prov.get("seconds")
    template = Environment(autoescape=True, keep_trailing_newline=True).from_string(INDEX_TEMPLATE)
    return template.render(
        profile=profile, commit=str(git.get("commit")), created=prov.get("created", "?"),
        dirty=" (uncommitted changes)" if git.get("dirty") else "",
        seconds=f"{seconds:.0f} s" if isinstance(seconds, (int, float)) else "? s",
        torch=str((prov.get("packages") or {}).get("torch")), python=prov.get("python", "?"),
        h=headline(out_dir, pages), headline_section=HEADLINE_SECTION, pages=pages)


def write_index(out_dir: Path, pages: list[Page], profile: str, prov: dict) -> Path:
    path = out_dir / "index.html"
    write_text(path, index_html(out_dir, pages, profile, prov))
    return path

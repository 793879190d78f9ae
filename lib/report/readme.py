"""The README's two generated blocks: the verdict profile's answer and the default report's headline table.

    write_answer(Path("reports/full"))        # README.md's answer block, from the full build's verdicts.json
    write_results(Path("reports/default"))   # README.md's results block and docs/results/headline.png

The answer block (between ``ANSWER_BEGIN`` and ``ANSWER_END``) holds the sentences of
``answer_text.read_answer`` for the ``full`` build (``ANSWER_PROFILE``: the profile that can support
verdicts) and the line naming its profile, commit and date; the runner writes it after a complete
build of that profile only.

The README holds one block between ``BEGIN`` and ``END``; this module replaces the text between them
(the markers and everything outside stay as they are) with the headline table that the report's index
shows (``site.headline``: ``04_comparison/tables/comparison_numbers.csv``, methods x mAP@0.5, view
accuracy and Delta-m% with 95% intervals), a link to the headline figure (``figures/pareto.png``, copied
to ``docs/results/headline.png`` so the README can show it), and one line naming the profile, commit and
date from the report's ``provenance.json``. The runner calls it after a complete build of the ``default``
profile only; nobody types the numbers in.
"""
from __future__ import annotations

import json
import os
from pathlib import Path

from ..store.atomic import write_bytes, write_text
from . import site
from .provenance import commit_line
from .profiles import REPO_ROOT
from .stats import CUT_NOTE
from .answer_text import read_answer

BEGIN = "<!-- results:begin -->"
END = "<!-- results:end -->"
README = REPO_ROOT / "README.md"
FIGURE = REPO_ROOT / "docs" / "results" / "headline.png"
PROFILE = "default"  # the only profile whose build writes the results block
ANSWER_BEGIN = "<!-- answer:begin -->"
ANSWER_END = "<!-- answer:end -->"
ANSWER_PROFILE = "full"  # the only profile whose build writes the answer block


class ResultsBlockError(ValueError):
    """The README cannot take the block: ``path`` lacks ``marker`` (or holds it more than once, or in the wrong order)."""

    def __init__(self, path: Path | str, marker: str, problem: str, begin: str = BEGIN, end: str = END):
        self.path, self.marker, self.problem = Path(path), marker, problem
        super().__init__(f"{path}: {problem} {marker!r}; the generated block must sit between one {begin!r} "
                         f"and one {end!r} line")


def markdown_table(header: list[str], rows: list[list[str]], left: int = 1) -> str:
    """A GitHub pipe table: the first ``left`` columns aligned left, the others right; ``|`` in a cell escaped."""
    def line(cells):
        return "| " + " | ".join(str(c).replace("|", "\\|") for c in cells) + " |"

    align = [":--" if i < left else "--:" for i in range(len(header))]
    return "\n".join([line(header), line(align)] + [line(r) for r in rows])


def replace_block(text: str, block: str, path: Path | str = "README.md", begin: str = BEGIN, end: str = END) -> str:
    """``text`` with what lies between ``begin`` and ``end`` replaced by ``block`` (on lines of its own).

    Raises ``ResultsBlockError`` when a marker is missing, repeated, or ``end`` comes first."""
    for marker in (begin, end):
        count = text.count(marker)
        if count != 1:
            raise ResultsBlockError(path, marker, "has no" if count == 0 else f"has {count} copies of", begin, end)
    start, stop = text.index(begin) + len(begin), text.index(end)
    if stop < start:
        raise ResultsBlockError(path, end, "has, before its begin marker,", begin, end)
    return f"{text[:start]}\n{block.strip(chr(10))}\n{text[stop:]}"


def _written_by(prov: dict, profile: str) -> str:
    return (f"Written by `make report{'' if profile == PROFILE else f' PROFILE={profile}'}` (profile "
            f"`{prov.get('profile', profile)}`, {commit_line(prov)}); every section: `reports/{profile}/index.html`.")


def render_answer(report: Path) -> str:
    """The answer block's markdown for the built verdict report ``report``: one paragraph per sentence of
    ``answer_text.read_answer``, then the provenance line. Raises ``FileNotFoundError`` without ``verdicts.json``."""
    path = report / "verdicts.json"
    if not path.is_file():
        raise FileNotFoundError(f"{path}: no verdicts (section 8 writes them); build the whole report first")
    prov = json.loads((report / "provenance.json").read_text())
    return "\n\n".join(read_answer(path) + [_written_by(prov, ANSWER_PROFILE)])


def write_answer(report: Path, readme: Path | None = None) -> Path:
    """Put ``report``'s answer into ``readme`` (default ``README.md``) between the answer markers, atomically.
    Returns ``readme``. Raises ``ResultsBlockError`` (markers) or ``FileNotFoundError`` before writing."""
    readme = Path(readme or README)
    new = replace_block(readme.read_text(encoding="utf-8"), render_answer(report), readme, ANSWER_BEGIN, ANSWER_END)
    write_text(readme, new)
    return readme


def render_block(report: Path, figure: str | None) -> str:
    """The block's markdown for the built report folder ``report``; ``figure``: the image's link, or None.

    Raises ``FileNotFoundError`` when the report has no comparison table (a partial build)."""
    prov = json.loads((report / "provenance.json").read_text())
    section = site.Page(site.HEADLINE_SECTION, site.HEADLINE_SECTION)
    h = site.headline(report, [section])
    if h is None:
        raise FileNotFoundError(f"{report / site.HEADLINE_SECTION}: no comparison table "
                                f"({' or '.join(site.HEADLINE_TABLES)}); build the whole report first")
    note = ("Test split; mean over seeds with a 95% Student-t interval in brackets. Δm% averages over the two "
            "tasks each task's relative change against its single-task reference (detection: mAP@0.5 and "
            f"mAP@0.5:0.95, averaged first; view: accuracy); the references ({', '.join(site.REFERENCES)}) "
            f"therefore have none; {CUT_NOTE}.")
    if h.one_seed:
        note += " One seed per method: the differences are single measurements, not established."
    parts = [markdown_table(h.header, h.rows), note]
    if figure:
        parts.append(f"![Test mAP@0.5 against view accuracy, one point per method; in red the Pareto set read from paired intervals]({figure})")
    parts.append(_written_by(prov, PROFILE))
    return "\n\n".join(parts)


def write_results(report: Path, readme: Path | None = None, figure: Path | None = None) -> Path:
    """Put ``report``'s headline into ``readme`` (default ``README.md``) between the markers, and its figure
    at ``figure`` (default ``docs/results/headline.png``); both written atomically. Returns ``readme``.

    Raises ``ResultsBlockError`` (markers) before anything is written, ``FileNotFoundError`` (no table)."""
    readme, figure = Path(readme or README), Path(figure or FIGURE)
    text = readme.read_text(encoding="utf-8")
    source = report / site.HEADLINE_SECTION / site.HEADLINE_FIGURE
    link = Path(os.path.relpath(figure, readme.parent)).as_posix() if source.exists() else None
    new = replace_block(text, render_block(report, link), readme)  # every check before anything is written
    if link:
        write_bytes(figure, source.read_bytes())
    write_text(readme, new)
    return readme

"""Do the verdicts survive a change of the benchmark? The verdicts of several built reports, side by side.

    make report PROFILE=full && make report PROFILE=ablation-coupling && make report PROFILE=ablation-contrast
    python -m lib.report.ablation full ablation-coupling ablation-contrast

Each report's ``verdicts.json`` (``verdicts.write_verdicts``) gives, per claim, a status and an interval. A
claim *survives* when it has the same status, established or not, in every report; it *changes* when one
report establishes it and another does not (or establishes the opposite sign); it is *not comparable* where a
report withheld it, and *not made everywhere* where a report does not make it (an ablation runs fewer rows).
Writes ``reports/ablation.csv`` and prints the table; ``--page docs/results/ablation.md`` also writes it as a
markdown page naming each report's build (profile, commit, date), and ``--readme`` the README's ablation block
(the counts and every claim that changed).
"""
from __future__ import annotations

import argparse
import json
import math
import sys
from pathlib import Path

import pandas as pd

from ..store.atomic import write_text
from .paired import ESTABLISHED, WITHHELD
from .profiles import REPO_ROOT
from .provenance import commit_line
from .readme import markdown_table, replace_block
from .verdicts import read_verdicts


def cell(v) -> str:
    """``status`` and the claim's estimate with its interval, as the table shows it."""
    estimate = v.values.get("difference", v.values.get("cos", math.nan))
    if isinstance(estimate, float) and math.isnan(estimate):
        return v.status
    low, high = v.interval
    interval = "" if math.isnan(low) else f" [{low:+.3f}, {high:+.3f}]"
    kind = (f" ({v.values['evidence']}; cosine {str(v.values['cos_reading']).split(':')[0]})"
            if v.values.get("evidence") and v.values.get("cos_reading") else "")
    return f"{v.status}{kind}: {estimate:+.3f}{interval}"


def outcome(verdicts: list) -> str:
    """survives / changes / not comparable / not made everywhere, for one claim's verdicts across reports
    (None: the report does not make the claim; an ablation cuts rows)."""
    if any(v is None for v in verdicts):
        return NOT_MADE
    if any(v.status == WITHHELD for v in verdicts):
        return "not comparable"
    return "survives" if len({reading(v) for v in verdicts}) == 1 else "changes"


def reading(v) -> tuple:
    """What must stay the same for a claim to survive: its status and, where established, the sign of its
    difference; an interference claim also its kind (``evidence``: loss-scale imbalance, conflicting
    directions) and what its cosine's interval says (above, below or not separated from zero)."""
    sign = math.copysign(1, v.values.get("difference", 1.0)) if v.status == ESTABLISHED else 0
    return v.status, sign, v.values.get("evidence"), v.values.get("cos_reading")


NOT_MADE = "not made everywhere"
STATUS_NOTE = ("A cell's interval is its comparison's own 95% t interval over seeds; its status also weighs Holm's "
               "adjustment over the report's family and the interval resampling clips, so an interval that "
               "excludes 0 can still read 'not established'.")


def side_by_side(profiles: list[str], root: Path = REPO_ROOT / "reports") -> pd.DataFrame:
    """One row per claim made by any of ``profiles``: each report's cell and the outcome.

    Raises ``FileNotFoundError`` naming a profile whose report has no ``verdicts.json``, ``ValueError`` naming a
    file that is not one, or a profile named twice."""
    if len(set(profiles)) != len(profiles):
        raise ValueError(f"profiles named twice: {' '.join(profiles)}; give each report once")
    found = {}
    for p in profiles:
        path = Path(root) / p / "verdicts.json"
        if not path.is_file():
            raise FileNotFoundError(f"{path}: no verdicts; build the report first (make report PROFILE={p})")
        try:
            found[p] = {v.claim: v for v in read_verdicts(path)}
        except (ValueError, KeyError, TypeError) as e:  # JSONDecodeError is a ValueError
            raise ValueError(f"{path}: not a verdicts.json written by the report ({type(e).__name__}: {e})") from None
    claims = list(dict.fromkeys(c for p in profiles for c in found[p]))
    rows = []
    for c in claims:
        vs = [found[p].get(c) for p in profiles]
        rows.append({"claim": c, **{p: "not made" if v is None else cell(v) for p, v in zip(profiles, vs)},
                     "outcome": outcome(vs)})
    return pd.DataFrame(rows).set_index("claim")


def counts(table: pd.DataFrame) -> str:
    """'4 survives, 2 changes, ...': how many claims had each outcome."""
    plural = {"survives": "survive", "changes": "change"}
    return ", ".join(f"{n} {plural.get(k, k) if n != 1 else k}" for k, n in table["outcome"].value_counts().items())


def summary(table: pd.DataFrame) -> str:
    """'Of the 11 claims every report makes: 8 survive, 3 change. All claims: ...' (the claims an ablation does
    not make are counted apart)."""
    made = table[table["outcome"] != NOT_MADE]
    return f"Of the {len(made)} claims every report makes: {counts(made) or 'none'}. All claims: {counts(table)}."


def built(report: Path) -> str:
    """'commit abc123 (date)' of a report's build, from its provenance.json."""
    try:
        return commit_line(json.loads((report / "provenance.json").read_text()))
    except (OSError, ValueError):
        return "build unknown (no provenance.json)"


def page(table: pd.DataFrame, profiles: list[str], root: Path) -> str:
    """The side-by-side table as a markdown page: the builds compared, the counts, the table."""
    builds = "\n".join(f"- `{p}`: {built(Path(root) / p)}" for p in profiles)
    header = ["claim", *profiles, "outcome"]
    rows = [[claim, *(str(r[p]) for p in profiles), r["outcome"]] for claim, r in table.iterrows()]
    return (f"# Do the verdicts survive a change of the benchmark?\n\n"
            f"Written by `python -m lib.report.ablation {' '.join(profiles)} --page ...` from each report's "
            f"`verdicts.json`; do not edit. Reports compared:\n\n{builds}\n\n"
            f"{summary(table)}\n"
            f"A claim survives when its status (established, with its sign, or not established) is the same in "
            f"every report, and for the interference claim also its kind and its cosine's reading; it is not "
            f"comparable where a report withheld it. {STATUS_NOTE}\n\n{markdown_table(header, rows)}\n")


README_BEGIN, README_END = "<!-- ablation:begin -->", "<!-- ablation:end -->"


def readme_block(table: pd.DataFrame, profiles: list[str], root: Path, page_path: str | None) -> str:
    """The README's ablation block: the counts over the claims every report makes, and each claim that
    changed, with every report's cell; the builds compared."""
    changed = table[table["outcome"] == "changes"]
    lines = [f"`python -m lib.report.ablation {' '.join(profiles)}`: {summary(table)}"]
    lines += [f"- **{claim}** changes: " + "; ".join(f"`{p}` {r[p]}" for p in profiles) for claim, r in changed.iterrows()]
    lines.append("Builds: " + "; ".join(f"`{p}` {built(Path(root) / p)}" for p in profiles) + "."
                 + (f" Every claim: [{page_path}]({page_path})." if page_path else "") + f" {STATUS_NOTE}")
    return "\n\n".join(lines[:1]) + ("\n\n" + "\n".join(lines[1:-1]) if len(lines) > 2 else "") + "\n\n" + lines[-1]


def main(argv=None) -> int:
    parser = argparse.ArgumentParser(prog="python -m lib.report.ablation", description=__doc__.split("\n")[0])
    parser.add_argument("profiles", nargs="+", help="built reports, the reference first (e.g. full)")
    parser.add_argument("--root", default=str(REPO_ROOT / "reports"),
                        help="where the reports are; the table is written there as ablation.csv")
    parser.add_argument("--page", help="also write the table as a markdown page here (docs/results/ablation.md)")
    parser.add_argument("--readme", action="store_true", help="also write the README's ablation block")
    args = parser.parse_args(argv)
    if len(args.profiles) < 2:
        parser.error("give at least two profiles to compare")
    try:
        table = side_by_side(args.profiles, Path(args.root))
    except (FileNotFoundError, ValueError) as e:
        print(f"error: {e}", file=sys.stderr)
        return 2
    write_text(Path(args.root) / "ablation.csv", table.to_csv())
    print(table.to_string())
    print("\n" + summary(table))
    print(STATUS_NOTE)
    print(f"table written: {Path(args.root) / 'ablation.csv'}")
    if args.page:
        write_text(Path(args.page), page(table, args.profiles, Path(args.root)))
        print(f"page written: {args.page}")
    if args.readme:
        readme = REPO_ROOT / "README.md"
        link = Path(args.page).resolve().relative_to(REPO_ROOT).as_posix() if args.page else None
        block = readme_block(table, args.profiles, Path(args.root), link)
        write_text(readme, replace_block(readme.read_text(), block, readme, README_BEGIN, README_END))
        print(f"README block written: {readme}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())

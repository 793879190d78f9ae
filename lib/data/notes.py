"""What loading a split changed or left out, said once per kind instead of once per file.

A real data set has hundreds of small blemishes (a box row written twice, a
corner at 1.0004, labelImg's ``classes.txt``); one warning per file would bury
the one that matters. ``SplitNotes`` collects them while a split loads and
``warn()`` prints one line per kind: how many, why, and the first files.
"""
from __future__ import annotations

import warnings
from collections import Counter
from dataclasses import dataclass, field
from pathlib import Path

from .errors import LabelError
from .labels import SLACK, LabelRecord

FIRST = 3  # files named per note


def _first(paths) -> str:
    paths = list(paths)
    more = f", ... ({len(paths) - FIRST} more)" if len(paths) > FIRST else ""
    return ", ".join(str(p) for p in paths[:FIRST]) + more


@dataclass
class SplitNotes:
    """Per-split tallies; ``skipped`` holds the ``LabelError`` of every file left out."""

    split: str
    skipped: list[LabelError] = field(default_factory=list)
    ignored: list[Path] = field(default_factory=list)
    repeated: list[Path] = field(default_factory=list)
    duplicates: dict[Path, int] = field(default_factory=dict)
    clipped: dict[Path, int] = field(default_factory=dict)

    def count(self, label: Path, record: LabelRecord) -> None:
        if record.duplicates:
            self.duplicates[label] = record.duplicates
        if record.clipped:
            self.clipped[label] = record.clipped

    def messages(self) -> list[str]:
        """One line per kind of note (empty when the split loaded as written)."""
        s, out = f"split '{self.split}'", []
        if self.skipped:
            causes = Counter(e.kind for e in self.skipped)
            why = "; ".join(f"{n} {kind}" for kind, n in causes.most_common())
            first = "\n  ".join(str(e) for e in self.skipped[:FIRST + 2])
            out.append(f"{s}: skipped {len(self.skipped)} bad image/label file(s) ({why}); first:\n  {first}")
        if self.duplicates:
            out.append(f"{s}: dropped {sum(self.duplicates.values())} exact duplicate object row(s) in "
                       f"{len(self.duplicates)} label file(s): {_first(self.duplicates)}")
        if self.clipped:
            out.append(f"{s}: clipped {sum(self.clipped.values())} object row(s) to the image (coordinates up to "
                       f"{SLACK:.0%} outside [0, 1], or a box past the edge) in {len(self.clipped)} label "
                       f"file(s): {_first(self.clipped)}")
        if self.ignored:
            out.append(f"{s}: ignored {len(self.ignored)} text file(s) in the labels folder that are not label "
                       f"files (not all numbers, e.g. labelImg's classes.txt): {_first(self.ignored)}")
        if self.repeated:
            out.append(f"{s}: {len(self.repeated)} image(s) listed more than once, used once: {_first(self.repeated)}")
        return out

    def warn(self) -> None:
        for message in self.messages():
            warnings.warn(message, stacklevel=3)

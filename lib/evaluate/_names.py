"""Class names as a list, whatever form the data set gives them in."""

from __future__ import annotations


def as_list(names) -> list[str]:
    """``['AR', 'MR']`` from a list/tuple or a YOLOv5-style ``{0: 'AR', 1: 'MR'}``."""
    if isinstance(names, dict):
        return [str(names[i]) for i in sorted(names)]
    return [str(n) for n in names]

"""Deal whole groups (patients, clips) to splits so every split keeps the same strata shares.

Frames of one clip are near-duplicates, so a split must take whole groups; a
random deal of a few dozen groups leaves the small splits with very different
view and class mixes (one view at half of validation, another at half of test).
``GroupDealer`` deals one group at a time to the open split (fewer images than
its size) that holds the least of the group's strata for its size (a greedy
rule like scikit-learn's ``StratifiedGroupKFold``, which only makes equal folds).
A stratum is a (view, jet class) cell; an image without a jet counts in its
view's ``none`` cell. The splits' stratum shares then differ by about one
group's share of the smallest split, whatever the number of groups.
"""
from __future__ import annotations

from typing import Iterable, Sequence

import numpy as np


def strata_counts(view: int, classes: Iterable[int], n_views: int, n_classes: int, frames: int = 1) -> np.ndarray:
    """Counts (n_views * (n_classes + 1),) of ``frames`` images of ``view`` with jets ``classes``.

    Cell ``view * (n_classes + 1) + cls``; the last cell of each view is ``none`` (no jet).
    """
    out = np.zeros(n_views * (n_classes + 1))
    base = view * (n_classes + 1)
    classes = list(classes)
    for c in classes or [n_classes]:
        out[base + c] += frames
    return out


class GroupDealer:
    """Greedy stratified deal of groups to splits of given sizes (images).

    Each group goes to the open split that holds the least of the group's strata per
    image of its size, argmin_s (have_s / size_s) . counts. (Equivalently: the split
    furthest below the pooled shares; that target is the same for every split, so it
    drops out.) Raises ValueError for negative or all-zero sizes.
    """

    def __init__(self, sizes: Sequence[float], n_strata: int):
        self.sizes = np.asarray(sizes, dtype=float)
        if self.sizes.ndim != 1 or (self.sizes < 0).any() or self.sizes.sum() <= 0:
            raise ValueError(f"sizes={list(sizes)}: expected non-negative split sizes with a positive sum")
        self.images = np.zeros(len(self.sizes))
        self.strata = np.zeros((len(self.sizes), n_strata))

    @property
    def open(self) -> np.ndarray:
        """Indices of the splits that still have room."""
        return np.flatnonzero(self.images < self.sizes)

    def room(self, split: int) -> int:
        return int(np.ceil(self.sizes[split] - self.images[split]))

    def choose(self, counts: np.ndarray) -> int:
        """The open split with the least of ``counts``' strata per image of size; the first on ties."""
        open_ = self.open
        if len(open_) == 0:
            raise ValueError("every split is full")
        fill = self.strata[open_] / self.sizes[open_, None]  # (open splits, strata)
        return int(open_[np.argmin(fill @ np.asarray(counts, dtype=float))])

    def add(self, split: int, counts: np.ndarray, images: int) -> None:
        self.strata[split] += counts
        self.images[split] += images

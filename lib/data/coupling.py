"""The view-jet coupling of the synthetic benchmark: P(class, view) from the real data's sample.

``coupling_table`` keeps the association (odds ratios) of a class x view count table at a chosen
strength and fits its margins to given class and view frequencies; ``REAL_CLASS_VIEW_COUNTS`` is the
real data's sample. ``lib.data.synthetic`` draws every clip's view and jet from it.
"""
from __future__ import annotations

import numpy as np

# Class x view counts of the real data's sample of 127 label files (UPSTREAM_FINDINGS.md, "Label
# geometry"): rows AR, MR, PR, TR; columns the one-hot view index 0, 1, 2, which this generator
# names VIEWS = (PSAX, PLAX, A4C), the order it writes the view line in. The sample's index
# frequencies (28/59/40) follow the real view counts in that order (PSAX 217 < A4C 517 < PLAX 612).
REAL_CLASS_VIEW_COUNTS = ((1, 4, 31), (18, 10, 7), (1, 10, 0), (8, 35, 2))


def coupling_table(counts, class_freq, view_freq, strength: float = 1.0, tol: float = 1e-12) -> np.ndarray:
    """P(class, view), shape (n_classes, n_views), summing to 1: the association of ``counts`` at ``strength``.

    Log-linear model: every odds ratio of ``counts`` (plus 0.5 per cell, the Haldane-Anscombe
    correction, so that a cell unseen in a small sample stays possible) is raised to the power
    ``strength``, then the margins are fitted to ``class_freq`` and ``view_freq`` by iterative
    proportional fitting (Deming & Stephan 1940), which keeps the odds ratios. So ``strength`` 0
    gives the independent table outer(class_freq, view_freq) (normalised), 1 the sample's
    association with the given margins, > 1 a stronger one. Raises ValueError for a negative
    strength.
    """
    if not strength >= 0:
        raise ValueError(f"strength={strength}: expected >= 0")
    p = np.asarray(counts, dtype=float) + 0.5
    p /= p.sum()
    indep = np.outer(p.sum(1), p.sum(0))
    t = indep * (p / indep) ** strength
    rows, cols = _probs(class_freq), _probs(view_freq)
    for _ in range(10_000):
        t *= _ratio(rows, t.sum(1))[:, None]
        t *= _ratio(cols, t.sum(0))
        if np.abs(t.sum(1) - rows).max() < tol:
            break
    return t / t.sum()


def _probs(row) -> np.ndarray:
    p = np.asarray(row, dtype=float)
    return p / p.sum()


def _ratio(a: np.ndarray, b: np.ndarray) -> np.ndarray:
    """a / b, 0 where b is 0 (a class or view with zero frequency)."""
    return np.divide(a, b, out=np.zeros_like(a), where=b > 0)

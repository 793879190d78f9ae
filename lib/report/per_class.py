"""Per-class detection AP of every row over its seeds, and which jet classes the benchmark lets a detector find.

Each run keeps its per-class table (``<split>_detection_per_class``: AP50, AP50_95, n_gt per class, COCO's
definition, ``lib.evaluate.detection``). A class is *detectable* when detection alone (``det_only``), the
reference that decides what the data allow, reaches a mean test AP50 of at least ``DETECTABLE_AP50`` over
its seeds. A class below it (the rare, small PR jet in a short run) adds only noise to mAP50, the same for
every method: the verdicts then use ``mAP50 (detectable)``, the mean AP50 over the detectable classes, and
say so; mAP50 over all classes stays in every table.
"""
from __future__ import annotations

import math

import pandas as pd

from .stats import bounds_of, format_ci, mean_ci

DETECTABLE_AP50 = 0.1  # detection alone must reach this mean test AP50 for a class to count as detectable
DETECTABLE_METRIC = "mAP50 (detectable)"


def per_class(runs: dict, split: str = "test") -> pd.DataFrame:
    """One line per (method, seed, class): AP50, AP50_95, n_gt. ``runs``: (row, seed) -> Run; rows without
    detection (``view_only``) are left out."""
    frames = []
    for (m, s), r in runs.items():
        if r.config.task == "view":
            continue
        t = r.table(f"{split}_detection_per_class")
        frames.append(t[["AP50", "AP50_95", "n_gt"]].rename_axis("class").reset_index().assign(method=m, seed=s))
    return pd.concat(frames, ignore_index=True)[["method", "seed", "class", "AP50", "AP50_95", "n_gt"]]


def per_class_table(tidy: pd.DataFrame, metric: str = "AP50") -> pd.DataFrame:
    """Rows x classes: mean ``metric`` over seeds with its 95% t interval (``per_class``'s lines)."""
    def cell(values):
        mean, low, high = mean_ci(values)
        return format_ci(mean, low, high, 3, bounds_of("mAP50"))
    table = tidy.groupby(["method", "class"], sort=False)[metric].apply(lambda v: cell(v.tolist())).unstack("class")
    return table.reindex(index=list(dict.fromkeys(tidy["method"])))


def detectability(tidy: pd.DataFrame, reference: str = "det_only",
                  threshold: float = DETECTABLE_AP50) -> pd.DataFrame:
    """Per class: the reference's mean test AP50 [95% interval] over seeds, ground-truth boxes per seed, and
    whether it is detectable (mean >= ``threshold``). Raises ``ValueError`` without runs of ``reference``."""
    ref = tidy[tidy["method"] == reference]
    if ref.empty:
        raise ValueError(f"detectability: no runs of {reference!r}, the reference that decides it")
    rows = {}
    for c, g in ref.groupby("class", sort=False):
        mean, low, high = mean_ci(g["AP50"].tolist())
        rows[c] = {f"{reference} AP50": mean, "low": low, "high": high, "seeds": len(g),
                   "n_gt per seed": float(g["n_gt"].mean()), "detectable": bool(mean >= threshold)}
    return pd.DataFrame(rows).T.rename_axis("class")


def detectable_classes(table: pd.DataFrame) -> list[str]:
    return [c for c, ok in table["detectable"].items() if bool(ok)]


def with_detectable_map(runs: dict, classes: list[str], split: str = "test") -> dict:
    """``{(row, seed): mean AP50 over classes}`` for every run with detection (NaN for a run without them)."""
    out = {}
    for (m, s), r in runs.items():
        if r.config.task == "view":
            out[(m, s)] = math.nan
            continue
        ap = r.table(f"{split}_detection_per_class")["AP50"]
        out[(m, s)] = float(ap.reindex(classes).mean()) if classes else math.nan
    return out


def reading(table: pd.DataFrame, threshold: float = DETECTABLE_AP50) -> str:
    """One sentence: which classes detection alone finds, and what the verdicts use."""
    missing = [c for c in table.index if not bool(table.loc[c, "detectable"])]
    if not missing:
        return (f"Every jet class is detectable here (detection alone reaches a mean test AP50 of at least "
                f"{threshold:g} on each), so the verdicts use mAP50 over all classes.")
    said = ", ".join(f"{c} ({table.loc[c, table.columns[0]]:.3f}, {table.loc[c, 'n_gt per seed']:.0f} boxes)"
                     for c in missing)
    return (f"Not detectable in these runs: {said}; detection alone stays below a mean test AP50 of "
            f"{threshold:g}, so such a class adds the same noise to every method's mAP50. The verdicts use "
            f"{DETECTABLE_METRIC}, the mean AP50 over {', '.join(detectable_classes(table)) or 'no class'}.")


def detection_for_verdicts(runs: dict) -> tuple[list[str] | None, dict | None]:
    """What ``answer.build`` compares detection on: (None, None), mAP50 over all classes, when every class is
    detectable; else (the detectable classes, ``with_detectable_map`` over them)."""
    tidy = per_class(runs)
    classes = detectable_classes(detectability(tidy))
    if len(classes) == tidy["class"].nunique():
        return None, None
    return classes, with_detectable_map(runs, classes)

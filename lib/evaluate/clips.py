"""Echo frames come in clips, and a clinician reads the view per clip: one view per clip from its frames.

A frame named ``<patient>-<clip>.mp4-<frame>.png`` (the upstream's names, or a Roboflow export's renaming of
them: ``lib.data.leakage.parse_frame_name``) belongs to clip ``<patient>-<clip>``; a frame of a video belongs to
the video. A clip's view is the argmax of the mean softmax probability over its frames (ties: the first view),
and its true view the most frequent true view of its frames (ties: the first), as in the report
(``lib.report.clips``).
"""
from __future__ import annotations

import math
from pathlib import Path

import numpy as np
import pandas as pd

from ..data.leakage import parse_frame_name


def clip_of(path: str | Path) -> str | None:
    """``.../SYN0042-2.mp4-17.png`` -> ``"SYN0042-2"``; None for a name without a clip id."""
    name = parse_frame_name(path)
    return None if name is None else name.clip


def clip_ids(paths) -> np.ndarray:
    """The clip of each frame path (object array); a name without one is a clip of its own, ``frame:<path>``."""
    return np.asarray([clip_of(p) or f"frame:{p}" for p in paths], dtype=object)


def clip_views(clips, prob: np.ndarray, view_names) -> pd.DataFrame:
    """One row per clip, in order of first appearance: ``clip``, ``frames``, ``view`` (name), and ``prob_<view>``,
    the mean over the clip's frames of ``prob`` (frames, views) softmax probabilities."""
    clips = np.asarray(clips, dtype=object)
    names, first, index = np.unique(clips, return_index=True, return_inverse=True)
    order = np.argsort(first, kind="stable")
    frames = np.bincount(index, minlength=len(names))
    mean = np.zeros((len(names), len(view_names)))
    for k in range(len(names)):
        mean[k] = prob[index == k].mean(0)
    out = pd.DataFrame({"clip": names, "frames": frames, "view": [view_names[i] for i in mean.argmax(1)]})
    for j, v in enumerate(view_names):
        out[f"prob_{v}"] = mean[:, j]
    return out.iloc[order].reset_index(drop=True)


def clip_view_accuracy(clips, prob: np.ndarray | None, true: np.ndarray) -> tuple[float, int]:
    """(share of clips whose mean view probability picks their true view, number of clips); ``(nan, 0)`` without
    probabilities (no view head) or frames."""
    clips = np.asarray(clips, dtype=object)
    if prob is None or not len(clips):
        return math.nan, 0
    right, names = 0, np.unique(clips)
    for c in names:
        at = clips == c
        truth = np.bincount(true[at]).argmax()
        right += int(prob[at].mean(0).argmax() == truth)
    return right / len(names), len(names)

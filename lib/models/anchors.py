"""Anchor boxes: YOLOv5's defaults scaled to the image size, or fitted to the labels.

Fitting is k-means on label widths/heights with the 1 - IoU distance
(Redmon & Farhadi, YOLO9000, 2017, sec. 2), initialised at area quantiles so
it is deterministic. YOLOv5 additionally evolves the result genetically; on
our single-object data plain k-means already reaches full best-possible recall.
"""
from __future__ import annotations

import warnings

import numpy as np
import torch

# ultralytics/yolov5 models/yolov5s.yaml, pixels at 640 px input: P3/8, P4/16, P5/32
YOLOV5_ANCHORS_640 = ((10, 13, 16, 30, 33, 23), (30, 61, 62, 45, 59, 119), (116, 90, 156, 198, 373, 326))


def default_anchors(imgsz: int) -> torch.Tensor:
    """YOLOv5's COCO anchors scaled from 640 px to ``imgsz`` (nl, na, 2) in pixels."""
    return torch.tensor(YOLOV5_ANCHORS_640, dtype=torch.float32).view(3, 3, 2) * (imgsz / 640)


def _wh_iou(wh: np.ndarray, centres: np.ndarray) -> np.ndarray:
    inter = np.minimum(wh[:, None], centres[None]).prod(2)
    return inter / (wh.prod(1)[:, None] + centres.prod(1)[None] - inter)


def fit_anchors(wh: np.ndarray, n_levels: int = 3, per_level: int = 3, iters: int = 100) -> torch.Tensor:
    """k-means (1 - IoU) anchors from label sizes ``wh`` (n, 2) in pixels -> (n_levels, per_level, 2)."""
    wh = np.asarray(wh, dtype=np.float64).reshape(-1, 2)
    k = n_levels * per_level
    wh = wh[(wh > 0).all(1)]
    if len(wh) < k:
        raise ValueError(f"need at least {k} labelled boxes to fit anchors, got {len(wh)}")
    order = np.argsort(wh.prod(1))
    centres = wh[order[((np.arange(k) + 0.5) / k * len(wh)).astype(int)]]
    for _ in range(iters):
        assign = _wh_iou(wh, centres).argmax(1)
        new = np.array([wh[assign == j].mean(0) if (assign == j).any() else centres[j] for j in range(k)])
        if np.allclose(new, centres):
            break
        centres = new
    centres = centres[np.argsort(centres.prod(1))]
    return torch.tensor(centres, dtype=torch.float32).view(n_levels, per_level, 2)


def best_possible_recall(anchors: torch.Tensor, wh: np.ndarray, thr: float = 4.0) -> float:
    """Share of label boxes that some anchor can be matched to under YOLOv5's ratio test."""
    a = anchors.view(-1, 2).numpy()[None]
    wh = np.asarray(wh, dtype=np.float64).reshape(-1, 2)[:, None]
    r = wh / a
    worst = np.maximum(r, 1 / r).max(2)
    return float((worst.min(1) < thr).mean()) if len(wh) else float("nan")


def run_anchors(mode: str, wh: np.ndarray, imgsz: int) -> torch.Tensor:
    """A run's anchors (3, 3, 2) in pixels: ``mode`` "default" (YOLOv5's, scaled to ``imgsz``) or "fit" (k-means
    on the train boxes' normalised widths and heights ``wh`` (N, 2); YOLOv5's defaults, with a warning, when
    fewer than 9 boxes are labelled)."""
    if mode == "default":
        return default_anchors(imgsz)
    if len(wh) < 9:  # too few labels to fit 9 anchors
        warnings.warn(f"only {len(wh)} labelled boxes: using YOLOv5's default anchors scaled to {imgsz} px")
        return default_anchors(imgsz)
    return fit_anchors(wh * imgsz)

"""Precision, recall and AP from per-detection TP flags.

Given every detection of a data set as ``(conf, cls, tp)`` and the number of
ground-truth boxes per class ``n_gt``, keeping the detections with
``conf >= t`` gives, per class c,

    P_c(t) = TP_c(t) / N_c(t),   R_c(t) = TP_c(t) / n_gt_c,
    F1_c(t) = 2 P_c R_c / (P_c + R_c)

with 0/0 := 0 (no detection kept means P = 0, not YOLOv5's P = 1; F1 is 0
either way). The operating point is the single threshold t* that maximises
the mean of F1_c over the classes with ground truth (YOLOv5 ``ap_per_class``
convention, here exact over every distinct confidence instead of a smoothed
1000-point grid; on ties the highest t wins). Classes without ground truth
have undefined recall and are left out of every mean.

``coco_ap`` is COCO's 101-point interpolated AP (pycocotools
``COCOeval.accumulate``): precision is made monotone,
``p_interp(r) = max_{r' >= r} p(r')``, and averaged at the recall thresholds
r in {0, 0.01, ..., 1} -- pycocotools' float64 grid (``coco.REC_THRESHOLDS``),
a threshold counting as reached when some recall is ``>= r``. (pycocotools
adds ``np.spacing(1)`` to the precision denominator, which moves AP by at
most ~1e-16; faster-coco-eval and this function do not.)
"""

from __future__ import annotations

from dataclasses import dataclass

import torch
from torch import Tensor

from .coco import REC_THRESHOLDS  # pycocotools' exact float64 grid, not float32


@dataclass
class OperatingPoint:
    """Per-class P, R, F1 (length nc) at the chosen threshold ``conf``."""

    conf: float
    precision: Tensor
    recall: Tensor
    f1: Tensor
    n_pred: Tensor  # detections per class with conf >= threshold


def _div(a: Tensor, b: Tensor) -> Tensor:
    return torch.where(b > 0, a / b.clamp(min=1e-300), torch.zeros_like(a))


def best_f1_point(conf: Tensor, cls: Tensor, tp: Tensor, n_gt: Tensor) -> OperatingPoint:
    """Threshold maximising mean F1 over classes with ground truth.

    Args:
        conf, cls, tp: (N,) confidence, integer class, TP flag of every
            detection.
        n_gt: (nc,) ground-truth boxes per class.

    Returns:
        ``OperatingPoint``; with no detections or no ground truth at all the
        threshold is 0.0 and every value 0.
    """
    nc = n_gt.numel()
    n_gt = n_gt.double()
    has_gt = n_gt > 0
    zeros = torch.zeros(nc, dtype=torch.float64)
    if conf.numel() == 0 or not has_gt.any():
        return OperatingPoint(0.0, zeros, zeros.clone(), zeros.clone(), zeros.clone())
    order = conf.argsort(descending=True, stable=True)
    conf, cls, tp = conf[order].double(), cls[order].long(), tp[order].bool()
    # last detection of each group of equal confidence = threshold at that conf
    thresholds, counts = torch.unique_consecutive(conf, return_counts=True)
    ends = counts.cumsum(0) - 1
    onehot = torch.nn.functional.one_hot(cls, nc).T.double()  # (nc, N)
    n_pred = onehot.cumsum(1)[:, ends]  # (nc, T)
    n_tp = (onehot * tp.double()).cumsum(1)[:, ends]
    p = _div(n_tp, n_pred)
    r = _div(n_tp, n_gt[:, None].expand_as(n_tp))
    f1 = _div(2 * p * r, p + r)
    best = int(f1[has_gt].mean(0).argmax())  # first max = highest threshold
    return OperatingPoint(
        float(thresholds[best]), p[:, best], r[:, best], f1[:, best], n_pred[:, best]
    )


def coco_ap(conf: Tensor, tp: Tensor, n_gt: int, rec_thresholds=REC_THRESHOLDS) -> float:
    """COCO interpolated AP of one class from its detections' TP flags.

    Returns NaN when ``n_gt == 0`` (COCO reports -1) and 0.0 when there are
    ground-truth boxes but no detections.
    """
    if n_gt == 0:
        return float("nan")
    if conf.numel() == 0:
        return 0.0
    tp = tp[conf.argsort(descending=True, stable=True)].double()
    n_tp, n_fp = tp.cumsum(0), (1 - tp).cumsum(0)
    rc = n_tp / n_gt
    pr = n_tp / (n_tp + n_fp)
    pr = pr.flip(0).cummax(0).values.flip(0)  # monotone envelope
    idx = torch.searchsorted(rc, torch.tensor(rec_thresholds, dtype=torch.float64))
    q = torch.where(idx < pr.numel(), pr[idx.clamp(max=pr.numel() - 1)], torch.zeros(()))
    return float(q.mean())

"""Greedy COCO matching of one image's detections to its ground truth.

The rule is that of ``COCOeval.evaluateImg`` (pycocotools): per class, take
the detections in descending confidence (stable order on ties); each one is
matched to the *unmatched* ground-truth box of the same class with the
highest IoU, provided that IoU >= ``iou_thres`` (on equal IoU the later box
wins, as in COCO). A matched detection is a true positive (TP); every other
detection is a false positive (FP), including one whose best box was already
taken or which has the wrong class.
"""

from __future__ import annotations

import torch
from torch import Tensor
from torchvision.ops import box_iou


def match_image(pred: Tensor, gt: Tensor, iou_thres: float = 0.5) -> Tensor:
    """TP flag of every detection of one image.

    Args:
        pred: (n, 6) ``[x1, y1, x2, y2, conf, cls]``.
        gt: (m, 5) ``[cls, x1, y1, x2, y2]``.
        iou_thres: minimum IoU for a match (inclusive, as COCO).

    Returns:
        Bool tensor (n,) aligned with the rows of ``pred``.
    """
    tp = torch.zeros(pred.shape[0], dtype=torch.bool)
    if pred.shape[0] == 0 or gt.shape[0] == 0:
        return tp
    pred, gt = pred.detach().cpu().double(), gt.detach().cpu().double()
    for c in pred[:, 5].unique():
        p_idx = torch.nonzero(pred[:, 5] == c).flatten()
        g_idx = torch.nonzero(gt[:, 0] == c).flatten()
        if g_idx.numel() == 0:
            continue
        p_idx = p_idx[pred[p_idx, 4].argsort(descending=True, stable=True)]
        iou = box_iou(pred[p_idx, :4], gt[g_idx, 1:])
        taken = torch.zeros(g_idx.numel(), dtype=torch.bool)
        for row, d in zip(iou, p_idx):
            row = row.masked_fill(taken, -1.0)
            # last index of the maximum, so ties go to the later box as in COCO
            g = row.numel() - 1 - int(row.flip(0).argmax())
            if row[g] >= iou_thres:
                taken[g] = True
                tp[d] = True
    return tp

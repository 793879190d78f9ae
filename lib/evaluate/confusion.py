"""YOLOv5 detection confusion matrix (``utils/metrics.py: ConfusionMatrix``).

Per image, detections with ``conf > conf_thres`` are matched to ground-truth
boxes regardless of class: every pair with IoU > ``iou_thres`` is a
candidate; candidates are taken in descending IoU, each detection and each
ground-truth box used at most once. Then

* a matched pair adds 1 to cell (true class, predicted class), so class
  confusions show off the diagonal;
* an unmatched ground-truth box adds 1 to (true class, background): missed;
* an unmatched detection adds 1 to (background, predicted class): false alarm.

The (nc+1) x (nc+1) matrix is returned with rows = true and columns =
predicted (the transpose of YOLOv5's storage, the same orientation as the view
confusion matrix); the last row/column is ``background``; its corner cell is
always 0.

Two deliberate departures from YOLOv5's code: pairs are matched greedily
one-to-one (YOLOv5 de-duplicates detections, then ground truth, which can
leave a valid second pair unmatched in rare chains), and unmatched detections
count as false alarms in every image (YOLOv5 skips them in an image where
nothing matched at all).
"""

from __future__ import annotations

import pandas as pd
import torch
from torch import Tensor
from torchvision.ops import box_iou

from ._names import as_list

BACKGROUND = "background"


class DetectionConfusionMatrix:
    """Accumulates the matrix over images; ``frame()`` labels it."""

    def __init__(self, names, conf_thres: float = 0.25, iou_thres: float = 0.45):
        self.names = as_list(names)
        self.nc = len(self.names)
        self.conf_thres, self.iou_thres = conf_thres, iou_thres
        self.matrix = torch.zeros(self.nc + 1, self.nc + 1, dtype=torch.long)

    def update(self, pred: Tensor, gt: Tensor) -> None:
        """Add one image: ``pred`` (n, 6) [x1,y1,x2,y2,conf,cls], ``gt`` (m, 5) [cls,x1,y1,x2,y2]."""
        bg = self.nc
        pred = pred[pred[:, 4] > self.conf_thres].detach().cpu().float()
        gt = gt.detach().cpu().float()
        p_cls, g_cls = pred[:, 5].long(), gt[:, 0].long()
        matched_p = torch.zeros(len(pred), dtype=torch.bool)
        matched_g = torch.zeros(len(gt), dtype=torch.bool)
        if len(pred) and len(gt):
            iou = box_iou(gt[:, 1:], pred[:, :4])
            gi, pi = torch.nonzero(iou > self.iou_thres, as_tuple=True)
            for k in iou[gi, pi].argsort(descending=True, stable=True).tolist():
                g, p = int(gi[k]), int(pi[k])
                if not (matched_g[g] or matched_p[p]):
                    matched_g[g] = matched_p[p] = True
                    self.matrix[g_cls[g], p_cls[p]] += 1
        for c in g_cls[~matched_g].tolist():
            self.matrix[c, bg] += 1
        for c in p_cls[~matched_p].tolist():
            self.matrix[bg, c] += 1

    def frame(self) -> pd.DataFrame:
        """Counts as a DataFrame, rows = true class, columns = predicted class."""
        labels = self.names + [BACKGROUND]
        df = pd.DataFrame(self.matrix.numpy(), index=labels, columns=labels)
        df.index.name, df.columns.name = "true", "pred"
        return df

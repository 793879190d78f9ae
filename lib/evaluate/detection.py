"""Detection metrics of a data set: COCO mAP, YOLOv5 P/R/F1, curves, confusion.

* ``map50``, ``map50_95`` and the per-class APs are COCO's 101-point
  interpolated AP, exactly as pycocotools defines it (``COCOeval.evaluate`` /
  ``accumulate``; Lin et al., "Microsoft COCO", 2014, and
  https://cocodataset.org/#detection-eval): per class, detections in
  descending score are greedily matched to ground truth at ``IoU >= t``,
  precision is made monotone, ``p_interp(r) = max_{r' >= r} p(r')``, and
  averaged over the recall thresholds r = 0, 0.01, ..., 1 (a threshold is
  reached when some recall is ``>= r``); AP50_95 also averages over the IoU
  thresholds t = 0.50, 0.55, ..., 0.95. Both grids are pycocotools' float64
  ``np.linspace`` grids (``coco.REC_THRESHOLDS``, ``coco.IOU_THRESHOLDS``),
  passed to torchmetrics' ``MeanAveragePrecision`` (faster-coco-eval
  backend), which forwards them unchanged; torchmetrics' own defaults are
  float32, under which a recall of exactly 0.6 misses the 0.6000000238
  point and an IoU of exactly 0.85 is no match at 0.8500000238, both
  lowering AP. COCO keeps the 100 highest-scoring detections per image and
  class. ``map50`` / ``map50_95`` are the float64 means of the per-class
  APs over the classes that have ground truth (as COCO's summary).
* ``precision``, ``recall``, ``f1`` are taken at one confidence threshold,
  the one maximising mean F1 over classes (YOLOv5), from our own greedy COCO
  matching at IoU 0.5 (``matching.match_image``; ``operating_point``).
* ``pr_curves``: COCO's interpolated precision at IoU 0.5 on the 101-point
  recall grid, per class with ground truth, in long format for plotting.
* ``confusion``: YOLOv5-style detection confusion matrix (``confusion``).

Classes with no ground truth in the data have no recall and no AP: they are
NaN in ``per_class`` and left out of every mean. Undefined metrics are
undefined: with no ground-truth box at all (a split without objects, or no
image added) ``map50``, ``map50_95``, ``precision``, ``recall`` and ``f1`` are
NaN, never 0.0, and ``compute()`` warns (``UserWarning``), so such a split
cannot pass for a model that finds nothing. With ground truth but no
predictions they are 0.0: defined, nothing was found. COCO's -1
("undefined") becomes NaN, never 0.
"""

from __future__ import annotations

import warnings
from dataclasses import dataclass

import pandas as pd
import torch
from torch import Tensor
from torchmetrics.detection import MeanAveragePrecision

from ._names import as_list
from .coco import IOU50, IOU_THRESHOLDS, REC_THRESHOLDS
from .confusion import DetectionConfusionMatrix
from .matching import match_image
from .operating_point import best_f1_point

NAN = float("nan")


@dataclass
class DetectionReport:
    """Summary numbers, per-class table, PR curves and confusion matrix.

    ``per_class`` is indexed by class name with columns AP50, AP50_95,
    precision, recall, F1 (at ``conf_threshold``), n_gt (ground-truth boxes),
    n_pred (detections with conf >= ``conf_threshold``). ``pr_curves`` has
    columns class, recall, precision. ``confusion`` is (nc+1) x (nc+1),
    rows true, columns predicted, last one ``background``.
    """

    map50: float
    map50_95: float
    precision: float
    recall: float
    f1: float
    conf_threshold: float
    per_class: pd.DataFrame
    pr_curves: pd.DataFrame
    confusion: pd.DataFrame


class DetectionEvaluator:
    """Accumulate per-image predictions and ground truth, then ``compute()``.

    Args:
        names: class names, list or ``{index: name}``; class indices in
            predictions and ground truth must lie in ``range(len(names))``.
        iou_thres: IoU for the P/R/F1 matching (0.5, as mAP50).
        confusion_conf, confusion_iou: YOLOv5 confusion-matrix thresholds.
    """

    def __init__(self, names, iou_thres: float = 0.5, confusion_conf: float = 0.25,
                 confusion_iou: float = 0.45, split: str | None = None):
        self.names = as_list(names)
        self.split = split  # named in the warning about a split without ground truth
        self.nc = len(self.names)
        self.iou_thres = iou_thres
        # pycocotools' float64 grids, not torchmetrics' float32 defaults (module docstring);
        # per-class APs come from the precision array, so no per-class re-evaluation is needed
        self.map = MeanAveragePrecision(
            iou_type="bbox", extended_summary=True, backend="faster_coco_eval",
            iou_thresholds=list(IOU_THRESHOLDS), rec_thresholds=list(REC_THRESHOLDS),
            sync_on_compute=False,  # scores what it was given: under torchrun rank 0 evaluates the whole split
        )
        self.confusion = DetectionConfusionMatrix(self.names, confusion_conf, confusion_iou)
        self._conf, self._cls, self._tp = [], [], []
        self.n_gt = torch.zeros(self.nc, dtype=torch.long)
        self.n_images = 0

    def update(self, preds: list[Tensor], gts: list[Tensor]) -> None:
        """Add images: ``preds[i]`` (n, 6) [x1,y1,x2,y2,conf,cls], ``gts[i]`` (m, 5) [cls,x1,y1,x2,y2], pixels."""
        if len(preds) != len(gts):
            raise ValueError(f"{len(preds)} prediction sets for {len(gts)} images")
        tm_preds, tm_gts = [], []
        for pred, gt in zip(preds, gts):
            pred, gt = pred.detach().cpu().float(), gt.detach().cpu().float()
            for what, cls in (("prediction", pred[:, 5]), ("target", gt[:, 0])):
                if len(cls) and not (0 <= cls.min() and cls.max() < self.nc):
                    raise ValueError(f"{what} class outside 0..{self.nc - 1}")
            self.n_images += 1
            self._tp.append(match_image(pred, gt, self.iou_thres))
            self._conf.append(pred[:, 4])
            self._cls.append(pred[:, 5].long())
            self.n_gt += torch.bincount(gt[:, 0].long(), minlength=self.nc)
            self.confusion.update(pred, gt)
            tm_preds.append(dict(boxes=pred[:, :4], scores=pred[:, 4], labels=pred[:, 5].long()))
            tm_gts.append(dict(boxes=gt[:, 1:], labels=gt[:, 0].long()))
        self.map.update(tm_preds, tm_gts)

    def compute(self) -> DetectionReport:
        """Metrics over everything added so far (see module docstring)."""
        cat = lambda xs, dt: torch.cat(xs) if xs else torch.zeros(0, dtype=dt)
        conf, cls, tp = cat(self._conf, torch.float32), cat(self._cls, torch.long), cat(self._tp, torch.bool)
        op = best_f1_point(conf, cls, tp, self.n_gt)
        has_gt = self.n_gt > 0

        ap50, ap50_95 = [NAN] * self.nc, [NAN] * self.nc
        curves = []
        r = self.map.compute() if self._tp else None  # torchmetrics warns when never updated
        # torchmetrics indexes classes by the sorted labels it has seen (0-d if one)
        seen = r["classes"].reshape(-1).tolist() if r else []
        for k, c in enumerate(seen):
            prec = r["precision"][:, :, k, 0, -1].double()  # (IoU, recall), all areas, max 100 dets
            if (prec < 0).any():  # COCO's -1: no ground truth for c
                continue
            ap50[c] = float(prec[IOU50].mean())
            ap50_95[c] = float(prec.mean())
            curves.append(pd.DataFrame({"class": self.names[c], "recall": REC_THRESHOLDS,
                                        "precision": prec[IOU50].numpy()}))

        n_pred = op.n_pred.long()
        precision = op.precision.clone()
        precision[~has_gt & (n_pred == 0)] = NAN
        per_class = pd.DataFrame(
            {
                "AP50": ap50,
                "AP50_95": ap50_95,
                "precision": precision.numpy(),
                "recall": op.recall.masked_fill(~has_gt, NAN).numpy(),
                "F1": op.f1.masked_fill(~has_gt, NAN).numpy(),
                "n_gt": self.n_gt.numpy(),
                "n_pred": n_pred.numpy(),
            },
            index=pd.Index(self.names, name="class"),
        )
        defined = bool(has_gt.any())  # some ground truth: r exists (an image was added) and its APs are >= 0
        if not defined:
            which = f"split '{self.split}'" if self.split else "the evaluated split"
            warnings.warn(f"{which} has no ground-truth objects ({self.n_images} images): detection "
                          "metrics (mAP50, mAP50_95, precision, recall, F1) are undefined (NaN)", UserWarning,
                          stacklevel=2)
        mean = lambda v: float(torch.as_tensor(v, dtype=torch.float64)[has_gt].mean()) if defined else NAN
        pr_curves = (pd.concat(curves, ignore_index=True) if curves
                     else pd.DataFrame({"class": [], "recall": [], "precision": []}))
        return DetectionReport(
            map50=mean(ap50),  # = COCO's stats[1], kept in float64
            map50_95=mean(ap50_95),  # = COCO's stats[0]
            precision=mean(op.precision),
            recall=mean(op.recall),
            f1=mean(op.f1),
            conf_threshold=op.conf,
            per_class=per_class,
            pr_curves=pr_curves,
            confusion=self.confusion.frame(),
        )

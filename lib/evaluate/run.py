"""Run a joint detection + view model over a loader and score both tasks.

The model, in eval mode, returns ``(detections, class_logits)`` with
``detections = (decoded, raw)`` (YOLOv5 ``Detect`` at inference: decoded
(B, N, 5+nc) pixel boxes and probabilities; raw per-level maps) and
``class_logits`` (B, n_views). Either part may be ``None`` (single-task run);
the missing task's metrics are then NaN. The detection metrics are NaN too
(with a warning) on a split without any ground-truth object, where they are
undefined (``lib.evaluate.detection``). Batches are any objects with
``images``, ``targets``, ``views`` and ``indices`` (``lib.data`` ``Batch``).
"""

from __future__ import annotations

import math
import time
from contextlib import contextmanager
from dataclasses import dataclass, field

import torch
from torch import Tensor, nn

from .detection import DetectionEvaluator, DetectionReport
from .postprocess import non_max_suppression, targets_to_xyxy
from .views import ViewReport, view_metrics

NAN = float("nan")


@dataclass
class EvalResult:
    """Both reports (``None`` for a task the model does not output), mean losses, size, time."""

    detection: DetectionReport | None
    view: ViewReport | None
    losses: dict = field(default_factory=dict)
    n_images: int = 0
    seconds: float = 0.0

    def metrics(self) -> dict[str, float]:
        """Flat headline numbers, NaN for a missing task or an undefined metric (no ground-truth object)."""
        d, v = self.detection, self.view
        return {
            "mAP50": d.map50 if d else NAN,
            "mAP50_95": d.map50_95 if d else NAN,
            "precision": d.precision if d else NAN,
            "recall": d.recall if d else NAN,
            "f1": d.f1 if d else NAN,
            "view_accuracy": v.accuracy if v else NAN,
            "view_macro_f1": v.macro_f1 if v else NAN,
        }

    def tables(self) -> dict:
        """Every per-class table, curve and confusion matrix, by a file-friendly name."""
        out = {}
        if self.detection is not None:
            out.update(detection_per_class=self.detection.per_class, detection_pr_curves=self.detection.pr_curves,
                       detection_confusion=self.detection.confusion)
        if self.view is not None:
            out.update(view_per_class=self.view.per_class, view_confusion=self.view.confusion)
        return out


@contextmanager
def eval_mode(model: nn.Module):
    """``model.eval()`` and ``torch.no_grad()``; restores the previous training mode."""
    was_training = model.training
    model.eval()
    try:
        with torch.no_grad():
            yield model
    finally:
        model.train(was_training)


def _forward(model: nn.Module, images: Tensor):
    """``(decoded | None, raw | None, logits | None)`` from one forward pass."""
    detections, logits = model(images)
    if detections is None:
        return None, None, logits
    if isinstance(detections, Tensor):  # a model returning only the decoded tensor
        return detections, None, logits
    decoded, raw = detections
    return decoded, raw, logits


def evaluate(
    model: nn.Module,
    loader,
    device="cpu",
    conf_thres: float = 0.001,
    iou_thres: float = 0.6,
    det_loss=None,
    view_loss_fn=None,
    imgsz: int | None = None,
) -> EvalResult:
    """Score ``model`` on every batch of ``loader``.

    Args:
        loader: iterable of batches; ``loader.dataset.names`` (detection
            classes) and ``loader.dataset.view_names`` give the labels.
        conf_thres, iou_thres: NMS settings (YOLOv5 val defaults 0.001, 0.6).
        det_loss: optional ``det_loss(raw, targets) -> (loss, items)``.
        view_loss_fn: optional ``view_loss_fn(logits, views) -> loss``.
        imgsz: input side in pixels; default the batch's image width.

    Returns:
        ``EvalResult``; ``losses`` holds ``"det"``/``"view"``, the unweighted
        mean over batches of each given loss whose task the model outputs.
    """
    dataset = loader.dataset
    det_eval = DetectionEvaluator(dataset.names, split=getattr(dataset, "split", None))
    view_pred, view_true = [], []
    sums = {"det": 0.0, "view": 0.0}
    counts = {"det": 0, "view": 0}
    has_det = has_view = False
    n_images = 0
    start = time.perf_counter()
    with eval_mode(model):
        for batch in loader:
            images = batch.images.to(device, non_blocking=True).float()
            targets = batch.targets.to(device)
            views = batch.views.to(device)
            n_images += images.shape[0]
            decoded, raw, logits = _forward(model, images)
            if decoded is not None:
                has_det = True
                preds = non_max_suppression(decoded, conf_thres, iou_thres)
                gts = targets_to_xyxy(targets.cpu(), images.shape[0], imgsz or images.shape[-1])
                det_eval.update([p.cpu() for p in preds], gts)
                if det_loss is not None and raw is not None:
                    sums["det"] += float(det_loss(raw, targets)[0])
                    counts["det"] += 1
            if logits is not None:
                has_view = True
                view_pred.append(logits.argmax(1).cpu())
                view_true.append(views.cpu())
                if view_loss_fn is not None:
                    sums["view"] += float(view_loss_fn(logits, views))
                    counts["view"] += 1
    detection = det_eval.compute() if has_det else None
    view = view_metrics(torch.cat(view_pred), torch.cat(view_true), dataset.view_names) if has_view else None
    losses = {k: sums[k] / counts[k] for k in sums if counts[k]}
    return EvalResult(detection, view, losses, n_images, time.perf_counter() - start)


def predictions(
    model: nn.Module,
    loader,
    device="cpu",
    conf_thres: float = 0.25,
    iou_thres: float = 0.45,
    max_images: int | None = None,
) -> list[dict]:
    """Per-image outputs for overlay plots.

    Returns one dict per image: ``index`` (dataset index), ``boxes`` (n, 6)
    [x1,y1,x2,y2,conf,cls] in input pixels (empty if no detection head),
    ``view_pred`` (int) and ``view_prob`` (its softmax probability), both
    ``None`` without a view head. Stops after ``max_images`` images.
    """
    out = []
    limit = math.inf if max_images is None else max_images
    with eval_mode(model):
        for batch in loader:
            if len(out) >= limit:
                break
            images = batch.images.to(device).float()
            decoded, _, logits = _forward(model, images)
            boxes = (non_max_suppression(decoded, conf_thres, iou_thres) if decoded is not None
                     else [torch.zeros(0, 6)] * images.shape[0])
            prob, view = (logits.softmax(1).max(1) if logits is not None else (None, None))
            for i, index in enumerate(batch.indices.tolist()):
                if len(out) >= limit:
                    break
                out.append({
                    "index": index,
                    "boxes": boxes[i].cpu(),
                    "view_pred": None if view is None else int(view[i]),
                    "view_prob": None if prob is None else float(prob[i]),
                })
    return out

"""Evaluation of both tasks: detection (COCO mAP, YOLOv5 P/R/F1, confusion)
and view classification, plus the loop that runs a model over a loader."""

from .confusion import DetectionConfusionMatrix
from .detection import DetectionEvaluator, DetectionReport
from .matching import match_image
from .operating_point import OperatingPoint, best_f1_point, coco_ap
from .postprocess import non_max_suppression, targets_to_xyxy
from .run import EvalResult, eval_mode, evaluate, predictions
from .views import ViewReport, view_metrics

__all__ = [
    "DetectionConfusionMatrix",
    "DetectionEvaluator",
    "DetectionReport",
    "EvalResult",
    "OperatingPoint",
    "ViewReport",
    "best_f1_point",
    "coco_ap",
    "eval_mode",
    "evaluate",
    "match_image",
    "non_max_suppression",
    "predictions",
    "targets_to_xyxy",
    "view_metrics",
]

"""Architectures. Each is a ``MultiTaskModel``: it says which parameters are shared."""
from ..config import MODELS
from .anchors import best_possible_recall, default_anchors, fit_anchors, run_anchors
from .base import MultiTaskModel, count_parameters
from .boundary import Boundary, forward_with_boundary
from .dual import DualBackbone, ViewClassifier
from .paper_toy import PaperToyModel
from .yolo import SCALES, ClassificationHead, Scale, YOLODetector, YOLOv5WithClassification


def build_model(name: str, nc: int, n_views: int, anchors, scale: str = "p",
                tasks: tuple[str, ...] = ("det", "view")) -> MultiTaskModel:
    """``shared``: upstream's YOLOv5WithClassification; ``detached``: same with a stop-gradient
    before the view head; ``dual``: two independent networks."""
    if name == "shared":
        return YOLOv5WithClassification(nc, n_views, anchors, scale, tasks=tasks)
    if name == "detached":
        return YOLOv5WithClassification(nc, n_views, anchors, scale, tasks=tasks, detach_view=True)
    if name == "dual":
        if tuple(tasks) != ("det", "view"):
            raise ValueError("the dual backbone is a two-task model; use --model shared for single-task references")
        return DualBackbone(nc, n_views, anchors, scale)
    raise ValueError(f"unknown model {name!r}; choose one of {MODELS}")


__all__ = [
    "MODELS", "build_model", "MultiTaskModel", "Boundary", "forward_with_boundary", "count_parameters", "YOLOv5WithClassification", "YOLODetector",
    "ClassificationHead", "DualBackbone", "ViewClassifier", "PaperToyModel", "SCALES", "Scale",
    "default_anchors", "fit_anchors", "run_anchors", "best_possible_recall",
]

from .assign import LevelTargets, build_targets
from .classification import view_loss
from .detection import DetectionLoss, DetectionLossConfig, objectness_target

__all__ = ["LevelTargets", "build_targets", "view_loss", "DetectionLoss", "DetectionLossConfig",
           "objectness_target"]

"""Using a trained model: ``model.pt`` on frames and videos without labels (``python -m lib.predict``), and on
any labelled data set (``python -m lib.val``).

``sources`` lists what ``--source`` names and decodes its frames (``video``: PyAV, the optional ``video``
extra); ``predictor`` letterboxes them as training did and maps boxes back to each frame's pixels; ``outputs``
writes YOLOv5-style label files and the CSVs; ``validate`` scores a model file on a data.yaml split with the
training's own evaluation.
"""
from .predictor import Prediction, Predictor, boxes_to_frame
from .sources import Frame, SourceError, frames, list_sources

__all__ = ["Frame", "Prediction", "Predictor", "SourceError", "boxes_to_frame", "frames", "list_sources"]

"""A trained model on frames of any size: letterboxed in, boxes back in the frame's own pixels.

Each frame is letterboxed exactly as training letterboxed it (``lib.data.letterbox``: long side to ``imgsz``,
PIL bilinear, centred on grey 114) and scaled to [0, 1] as ``lib.data.collate`` does, so a frame of a data
set gives the input its evaluation saw. The model runs in eval mode; boxes go through YOLOv5's NMS
(``lib.evaluate.non_max_suppression``) and back through the letterbox, the inverse of
``lib.data.boxes_to_letterbox``::

    x = (x' - left) / scale,    y = (y' - top) / scale

clipped to the frame (``torchvision.ops.clip_boxes_to_image``), where ``scale = imgsz / max(W, H)`` and
``(left, top)`` is the padding ``letterbox`` returned.
"""
from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import torch
from torch import Tensor
from torchvision.ops import clip_boxes_to_image

from ..data import letterbox
from ..engine.seeding import resolve_device
from ..evaluate import eval_mode, non_max_suppression
from ..config import imgsz_problem
from ..store.model_file import ModelFile


@dataclass
class Prediction:
    """One frame's outputs: ``boxes`` float32 (n, 6) ``[x1, y1, x2, y2, conf, cls]`` in the frame's pixels,
    by descending conf (empty without a detection head); ``view_prob`` float32 (views,) softmax
    probabilities, None without a view head."""

    boxes: Tensor
    view_prob: Tensor | None


def boxes_to_frame(boxes: Tensor, scale: float, pad: tuple[int, int], frame_wh: tuple[int, int]) -> Tensor:
    """(n, 4+) boxes ``x1, y1, x2, y2, ...`` in letterboxed pixels -> the same in the original frame's pixels
    (W, H = ``frame_wh``), clipped to it; further columns are kept."""
    out = boxes.clone()
    left, top = pad
    out[:, [0, 2]] = (out[:, [0, 2]] - left) / scale
    out[:, [1, 3]] = (out[:, [1, 3]] - top) / scale
    w, h = frame_wh
    out[:, :4] = clip_boxes_to_image(out[:, :4], (h, w))
    return out


class Predictor:
    """``Predictor(model_file)(frames) -> [Prediction]`` for a list of (H, W, 3) uint8 RGB frames.

    ``imgsz`` defaults to the size the model was trained at (a multiple of 32); ``conf``, ``iou`` and ``max_det``
    are the NMS settings (YOLOv5 detect's 0.25 and 0.45; at 0.001 and 0.6, its val's); ``device`` as
    ``TrainConfig.device`` (``auto``: CUDA when present)."""

    def __init__(self, model_file: ModelFile, imgsz: int | None = None, conf: float = 0.25, iou: float = 0.45,
                 max_det: int = 100, device: str = "auto"):
        self.imgsz = imgsz or model_file.imgsz
        if imgsz_problem(self.imgsz):
            raise ValueError("--" + imgsz_problem(self.imgsz))
        self.device = resolve_device(device)
        self.model = model_file.model.to(self.device)
        self.conf, self.iou, self.max_det = conf, iou, max_det

    def __call__(self, frames: list[np.ndarray]) -> list[Prediction]:
        if not frames:
            return []
        boxed = [letterbox(rgb, self.imgsz) for rgb in frames]
        x = torch.from_numpy(np.stack([b[0] for b in boxed])).permute(0, 3, 1, 2).float().div_(255.0)
        with eval_mode(self.model):
            detections, logits = self.model(x.to(self.device))
        probs = logits.float().softmax(1).cpu() if logits is not None else None
        if detections is not None:
            decoded = detections[0] if isinstance(detections, tuple) else detections
            kept = [b.cpu() for b in non_max_suppression(decoded, self.conf, self.iou, self.max_det)]
        else:
            kept = [torch.zeros(0, 6)] * len(frames)
        out = []
        for i, (rgb, (_, scale, pad)) in enumerate(zip(frames, boxed)):
            h, w = rgb.shape[:2]
            out.append(Prediction(boxes_to_frame(kept[i], scale, pad, (w, h)),
                                  probs[i] if probs is not None else None))
        return out

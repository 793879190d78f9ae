"""YOLOv5's training augmentation of one letterboxed frame, with ``torchvision.transforms.v2``.

Hyperparameters keep YOLOv5's names and meanings (``data/hyps/hyp.scratch-low.yaml``): ``hsv_h/s/v`` (HSV gains),
``degrees``, ``translate``, ``scale`` (here the field ``aug_scale``, since ``scale`` names the model's width),
``shear``, ``perspective`` (``random_perspective``), ``flipud``, ``fliplr`` (probabilities). Boxes are
``tv_tensors.BoundingBoxes`` in pixels and follow every geometric transform; afterwards they are clipped to the
frame and dropped as YOLOv5's ``box_candidates`` drops them (under 2 px a side, under 10 % of their transformed
area left, aspect ratio over 100).

Where torchvision differs from OpenCV, the meaning is kept and the arithmetic is torchvision's: the hue gain shifts
hue by up to ``hsv_h`` of the colour circle (``adjust_hue``; YOLOv5 multiplies OpenCV's 0..179 hue by
``1 +- hsv_h``), saturation blends with the grey image (``adjust_saturation``), value scales every channel
(``adjust_brightness``, exactly V's scaling). Every random number comes from the ``numpy.random.Generator`` passed
in, so a frame's augmentation depends on the seed, epoch and index only (``lib.data.train_items``).
"""
from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import torch
from torchvision import tv_tensors
from torchvision.transforms import InterpolationMode
from torchvision.transforms.v2 import functional as F

PAD = 114  # YOLOv5's grey, of letterbox and of the affine border


@dataclass(frozen=True)
class Hyp:
    """The augmentation hyperparameters of one run (``TrainConfig`` fields of the same names)."""

    hsv_h: float = 0.0
    hsv_s: float = 0.0
    hsv_v: float = 0.0
    degrees: float = 0.0
    translate: float = 0.0
    aug_scale: float = 0.0
    shear: float = 0.0
    perspective: float = 0.0
    flipud: float = 0.0
    fliplr: float = 0.0
    mosaic: float = 0.0
    mixup: float = 0.0

    @classmethod
    def of(cls, cfg) -> "Hyp":
        """The fields of a ``TrainConfig`` (or any object with them)."""
        return cls(**{name: float(getattr(cfg, name)) for name in cls.__dataclass_fields__})

    @property
    def any(self) -> bool:
        return any(getattr(self, name) for name in self.__dataclass_fields__)

    @property
    def geometric(self) -> bool:
        return bool(self.degrees or self.translate or self.aug_scale or self.shear or self.perspective)


def to_pixels(targets: torch.Tensor, size: tuple[int, int]) -> tv_tensors.BoundingBoxes:
    """(n, 5) ``[cls, cx, cy, w, h]`` normalised to a (h, w) frame -> (n, 4) XYXY pixel boxes."""
    h, w = size
    cx, cy, bw, bh = (targets[:, 1] * w, targets[:, 2] * h, targets[:, 3] * w, targets[:, 4] * h)
    xyxy = torch.stack([cx - bw / 2, cy - bh / 2, cx + bw / 2, cy + bh / 2], dim=1)
    return tv_tensors.BoundingBoxes(xyxy, format="XYXY", canvas_size=(h, w))


def to_targets(classes: torch.Tensor, boxes: torch.Tensor, size: tuple[int, int]) -> torch.Tensor:
    """(n,) classes and (n, 4) XYXY pixel boxes on a (h, w) frame -> (n, 5) normalised ``[cls, cx, cy, w, h]``."""
    h, w = size
    b = boxes.as_subclass(torch.Tensor).float()
    out = torch.stack([classes.float(), (b[:, 0] + b[:, 2]) / 2 / w, (b[:, 1] + b[:, 3]) / 2 / h,
                       (b[:, 2] - b[:, 0]) / w, (b[:, 3] - b[:, 1]) / h], dim=1)
    return out.reshape(-1, 5)


def box_candidates(before: torch.Tensor, after: torch.Tensor, wh_thr: float = 2, ar_thr: float = 100,
                   area_thr: float = 0.1, eps: float = 1e-16) -> torch.Tensor:
    """YOLOv5's ``box_candidates``: (n,) bool, True where a box kept at least ``wh_thr`` px a side, ``area_thr`` of
    the area it would have had (``before``: (n, 4) XYXY boxes already scaled by the transform's zoom) and an
    aspect ratio under ``ar_thr``."""
    w1, h1 = before[:, 2] - before[:, 0], before[:, 3] - before[:, 1]
    w2, h2 = after[:, 2] - after[:, 0], after[:, 3] - after[:, 1]
    ar = torch.maximum(w2 / (h2 + eps), h2 / (w2 + eps))
    return (w2 > wh_thr) & (h2 > wh_thr) & (w2 * h2 / (w1 * h1 + eps) > area_thr) & (ar < ar_thr)


def random_affine(image: torch.Tensor, classes: torch.Tensor, boxes: tv_tensors.BoundingBoxes, hyp: Hyp,
                  rng: np.random.Generator, out: int) -> tuple[torch.Tensor, torch.Tensor, torch.Tensor]:
    """YOLOv5's ``random_perspective``: rotation (+-degrees), zoom (1 +- aug_scale), shear (+-shear degrees),
    perspective and translation (+-translate of ``out``) about the frame's centre, then the centre ``out`` x ``out``
    crop (a mosaic canvas is 2 ``out`` wide; a single frame is ``out``). Returns image (3, out, out) uint8, and the
    kept classes (k,) and XYXY pixel boxes (k, 4)."""
    angle = float(rng.uniform(-hyp.degrees, hyp.degrees))
    zoom = float(rng.uniform(1 - hyp.aug_scale, 1 + hyp.aug_scale))
    shear = [float(rng.uniform(-hyp.shear, hyp.shear)), float(rng.uniform(-hyp.shear, hyp.shear))]
    shift = [float(rng.uniform(-hyp.translate, hyp.translate) * out),
             float(rng.uniform(-hyp.translate, hyp.translate) * out)]
    p = (float(rng.uniform(-hyp.perspective, hyp.perspective)), float(rng.uniform(-hyp.perspective, hyp.perspective)))
    before = boxes.as_subclass(torch.Tensor) * zoom
    image = F.affine(image, angle=angle, translate=shift, scale=zoom, shear=shear,
                     interpolation=InterpolationMode.BILINEAR, fill=PAD)
    boxes = F.affine(boxes, angle=angle, translate=shift, scale=zoom, shear=shear)
    if hyp.perspective:
        start, end = _perspective_points(image.shape[-1], image.shape[-2], p)
        image = F.perspective(image, start, end, interpolation=InterpolationMode.BILINEAR, fill=PAD)
        boxes = F.perspective(boxes, start, end)
    if image.shape[-1] != out:
        image, boxes = F.center_crop(image, [out, out]), F.center_crop(boxes, [out, out])
    boxes = F.clamp_bounding_boxes(boxes)
    keep = box_candidates(before, boxes.as_subclass(torch.Tensor))
    return image, classes[keep], boxes.as_subclass(torch.Tensor)[keep]


def _perspective_points(w: int, h: int, p: tuple[float, float]) -> tuple[list, list]:
    """The frame's corners and where YOLOv5's projective terms ``P[2, 0] = p0, P[2, 1] = p1`` (about the centre)
    send them."""
    corners = [[0, 0], [w - 1, 0], [w - 1, h - 1], [0, h - 1]]
    moved = []
    for x, y in corners:
        dx, dy = x - w / 2, y - h / 2
        d = p[0] * dx + p[1] * dy + 1
        moved.append([dx / d + w / 2, dy / d + h / 2])
    return corners, moved


def hsv(image: torch.Tensor, hyp: Hyp, rng: np.random.Generator) -> torch.Tensor:
    """Random hue, saturation and value gains on a uint8 (3, H, W) image (YOLOv5's ``augment_hsv``)."""
    gains = rng.uniform(-1, 1, 3) * [hyp.hsv_h, hyp.hsv_s, hyp.hsv_v]
    if gains[0]:
        image = F.adjust_hue(image, float(gains[0]) / 2)  # +-hsv_h of the circle; adjust_hue's unit is the circle
    if gains[1]:
        image = F.adjust_saturation(image, 1 + float(gains[1]))
    if gains[2]:
        image = F.adjust_brightness(image, 1 + float(gains[2]))
    return image


def flips(image: torch.Tensor, boxes: torch.Tensor, hyp: Hyp, rng: np.random.Generator):
    """Up-down then left-right flips with probabilities ``flipud``, ``fliplr``; (n, 4) XYXY pixel boxes follow."""
    size = tuple(image.shape[-2:])
    b = tv_tensors.BoundingBoxes(boxes, format="XYXY", canvas_size=size)
    if rng.random() < hyp.flipud:
        image, b = F.vertical_flip(image), F.vertical_flip(b)
    if rng.random() < hyp.fliplr:
        image, b = F.horizontal_flip(image), F.horizontal_flip(b)
    return image, b.as_subclass(torch.Tensor)


def augment_frame(image: torch.Tensor, targets: torch.Tensor, hyp: Hyp, rng: np.random.Generator,
                  canvas: tuple[torch.Tensor, torch.Tensor] | None = None) -> tuple[torch.Tensor, torch.Tensor]:
    """One training frame: (3, S, S) uint8 and (n, 5) normalised targets -> the augmented pair, same shapes.

    ``canvas``: a mosaic's (3, 2S, 2S) image and (n, 5) targets normalised to it, used instead of ``image``; the
    affine then crops its centre S x S (YOLOv5's ``load_mosaic`` border of -S/2)."""
    out = image.shape[-1]
    src, tgt = canvas if canvas is not None else (image, targets)
    size = tuple(src.shape[-2:])
    classes, boxes = tgt[:, 0], to_pixels(tgt, size)
    if hyp.geometric or canvas is not None:
        src, classes, boxes = random_affine(src, classes, boxes, hyp, rng, out)
    else:
        boxes = boxes.as_subclass(torch.Tensor)
    src = hsv(src, hyp, rng)
    src, boxes = flips(src, boxes, hyp, rng)
    return src.contiguous(), to_targets(classes, boxes, (out, out))

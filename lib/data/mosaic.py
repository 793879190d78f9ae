"""YOLOv5's mosaic and mixup, the two augmentations ``torchvision.transforms.v2`` lacks.

``mosaic``: the pictures of four letterboxed frames (``content``: without their grey bars, long side S) tiled
around a random centre of a 2S x 2S grey canvas (YOLOv5 ``load_mosaic``: centre uniform in [S/2, 3S/2], tiles cut
where they pass the canvas, boxes clipped to it); ``lib.data.augment.random_affine`` then crops the canvas's centre S x S. ``mixup``: two augmented frames
blended with a Beta(32, 32) ratio and their boxes joined (YOLOv5 ``mixup``).

The view is one label per frame, so a mosaic's three other tiles and a mixup's partner are drawn from frames of
the same view: the view label stays true of every pixel (YOLOv5 draws them from the whole set; it has no frame
label).
"""
from __future__ import annotations

import numpy as np
import torch

from .augment import PAD


def mosaic(tiles: list[tuple[torch.Tensor, torch.Tensor]], rng: np.random.Generator, s: int) -> tuple[torch.Tensor, torch.Tensor]:
    """Four (image (3, h, w) uint8 with h, w <= ``s``, targets (n, 5) normalised to it) -> the canvas (3, 2s, 2s)
    and its targets (m, 5) normalised to the canvas, boxes clipped to it (a box left without area is dropped)."""
    xc, yc = (int(rng.uniform(s // 2, 2 * s - s // 2)) for _ in range(2))
    canvas = torch.full((3, 2 * s, 2 * s), PAD, dtype=torch.uint8)
    rows = []
    for k, (image, targets) in enumerate(tiles):
        h, w = image.shape[-2:]
        # the tile's corner at the centre: top-left, top-right, bottom-left, bottom-right (YOLOv5 load_mosaic)
        x1a, x2a = (max(xc - w, 0), xc) if k in (0, 2) else (xc, min(xc + w, 2 * s))
        y1a, y2a = (max(yc - h, 0), yc) if k in (0, 1) else (yc, min(yc + h, 2 * s))
        x1b = w - (x2a - x1a) if k in (0, 2) else 0
        y1b = h - (y2a - y1a) if k in (0, 1) else 0
        canvas[:, y1a:y2a, x1a:x2a] = image[:, y1b:y1b + (y2a - y1a), x1b:x1b + (x2a - x1a)]
        if len(targets):
            t = targets.clone()
            t[:, 1] = t[:, 1] * w + (x1a - x1b)
            t[:, 2] = t[:, 2] * h + (y1a - y1b)
            t[:, 3] *= w
            t[:, 4] *= h
            rows.append(t)
    if not rows:
        return canvas, torch.zeros((0, 5))
    t = torch.cat(rows)
    x1 = (t[:, 1] - t[:, 3] / 2).clamp(0, 2 * s)
    x2 = (t[:, 1] + t[:, 3] / 2).clamp(0, 2 * s)
    y1 = (t[:, 2] - t[:, 4] / 2).clamp(0, 2 * s)
    y2 = (t[:, 2] + t[:, 4] / 2).clamp(0, 2 * s)
    keep = (x2 > x1) & (y2 > y1)
    out = torch.stack([t[:, 0], (x1 + x2) / 2, (y1 + y2) / 2, x2 - x1, y2 - y1], dim=1)[keep]
    out[:, 1:] /= 2 * s
    return canvas, out


def content(image: torch.Tensor, targets: torch.Tensor, wh: tuple[int, int]) -> tuple[torch.Tensor, torch.Tensor]:
    """A letterboxed (3, S, S) frame of an original (w, h) -> its picture without the grey bars, (3, nh, nw), and
    targets normalised to it: mosaic tiles the pictures, as YOLOv5 tiles its resized images."""
    from .letterbox import letterbox_geometry

    size = image.shape[-1]
    scale, (left, top) = letterbox_geometry(wh, size)
    nw, nh = max(1, round(wh[0] * scale)), max(1, round(wh[1] * scale))
    t = targets.clone()
    t[:, 1] = (t[:, 1] * size - left) / nw
    t[:, 2] = (t[:, 2] * size - top) / nh
    t[:, 3] *= size / nw
    t[:, 4] *= size / nh
    return image[:, top:top + nh, left:left + nw], t


def mixup(a: tuple[torch.Tensor, torch.Tensor], b: tuple[torch.Tensor, torch.Tensor],
          rng: np.random.Generator) -> tuple[torch.Tensor, torch.Tensor]:
    """Two (image (3, S, S) uint8, targets (n, 5)) -> their Beta(32, 32) blend, rounded to uint8, and all boxes."""
    r = float(rng.beta(32.0, 32.0))
    image = (a[0].float() * r + b[0].float() * (1 - r)).round_().to(torch.uint8)
    return image, torch.cat([a[1], b[1]])

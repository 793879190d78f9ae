"""YOLOv5's mosaic and mixup, the two augmentations ``torchvision.transforms.v2`` lacks.

``mosaic``: four letterboxed S x S frames tiled around a random centre of a 2S x 2S grey canvas
(YOLOv5 ``load_mosaic``: centre uniform in [S/2, 3S/2], tiles cut where they pass the canvas, boxes clipped to
it); ``lib.data.augment.random_affine`` then crops the canvas's centre S x S. ``mixup``: two augmented frames
blended with a Beta(32, 32) ratio and their boxes joined (YOLOv5 ``mixup``).

The view is one label per frame, so a mosaic's three other tiles and a mixup's partner are drawn from frames of
the same view: the view label stays true of every pixel (YOLOv5 draws them from the whole set; it has no frame
label).
"""
from __future__ import annotations

import numpy as np
import torch

from .augment import PAD


def mosaic(tiles: list[tuple[torch.Tensor, torch.Tensor]], rng: np.random.Generator) -> tuple[torch.Tensor, torch.Tensor]:
    """Four (image (3, S, S) uint8, targets (n, 5) normalised to it) -> the canvas (3, 2S, 2S) and its targets
    (m, 5) normalised to the canvas, boxes clipped to it (a box left without area is dropped)."""
    s = tiles[0][0].shape[-1]
    xc, yc = (int(rng.uniform(s // 2, 2 * s - s // 2)) for _ in range(2))
    canvas = torch.full((3, 2 * s, 2 * s), PAD, dtype=torch.uint8)
    rows = []
    for k, (image, targets) in enumerate(tiles):
        # where the tile's corner meets the centre: top-left, top-right, bottom-left, bottom-right
        x1a, x2a = (max(xc - s, 0), xc) if k in (0, 2) else (xc, min(xc + s, 2 * s))
        y1a, y2a = (max(yc - s, 0), yc) if k in (0, 1) else (yc, min(yc + s, 2 * s))
        x1b = s - (x2a - x1a) if k in (0, 2) else 0
        y1b = s - (y2a - y1a) if k in (0, 1) else 0
        canvas[:, y1a:y2a, x1a:x2a] = image[:, y1b:y1b + (y2a - y1a), x1b:x1b + (x2a - x1a)]
        if len(targets):
            t = targets.clone()
            t[:, 1] = t[:, 1] * s + (x1a - x1b)
            t[:, 2] = t[:, 2] * s + (y1a - y1b)
            t[:, 3:] *= s
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


def mixup(a: tuple[torch.Tensor, torch.Tensor], b: tuple[torch.Tensor, torch.Tensor],
          rng: np.random.Generator) -> tuple[torch.Tensor, torch.Tensor]:
    """Two (image (3, S, S) uint8, targets (n, 5)) -> their Beta(32, 32) blend, rounded to uint8, and all boxes."""
    r = float(rng.beta(32.0, 32.0))
    image = (a[0].float() * r + b[0].float() * (1 - r)).round_().to(torch.uint8)
    return image, torch.cat([a[1], b[1]])

"""Letterboxing: fit an image into a square without distorting it (YOLOv5's ``letterbox``).

The image is scaled so its long side equals ``size`` (PIL bilinear) and centred on
a grey (114) square. Boxes follow with ``boxes_to_letterbox``; aspect ratio is
kept so jet shapes and anatomy are not stretched.
"""
from __future__ import annotations

import numpy as np
from PIL import Image


def letterbox_geometry(wh: tuple[int, int], size: int) -> tuple[float, tuple[int, int]]:
    """An image of (w, h) pixels -> (scale, (left, top) padding in pixels) of its letterbox to ``size``."""
    w, h = wh
    scale = size / max(h, w)
    nw, nh = max(1, round(w * scale)), max(1, round(h * scale))
    return scale, ((size - nw) // 2, (size - nh) // 2)


def letterbox(img: np.ndarray, size: int, pad_value: int = 114) -> tuple[np.ndarray, float, tuple[int, int]]:
    """(H, W, 3) uint8 -> ((size, size, 3) uint8, scale, (left, top) padding in pixels)."""
    h, w = img.shape[:2]
    scale, (left, top) = letterbox_geometry((w, h), size)
    nw, nh = max(1, round(w * scale)), max(1, round(h * scale))
    if (nw, nh) != (w, h):
        img = np.asarray(Image.fromarray(img).resize((nw, nh), Image.BILINEAR))
    out = np.full((size, size, 3), pad_value, dtype=np.uint8)
    out[top:top + nh, left:left + nw] = img
    return out, scale, (left, top)


def boxes_to_letterbox(boxes_norm: np.ndarray, orig_wh: tuple[int, int], scale: float,
                       pad: tuple[int, int], size: int) -> np.ndarray:
    """Map boxes normalised to the original image to boxes normalised to the letterboxed square.

    ``boxes_norm`` is (n, 4+) with ``cx, cy, w, h`` as its LAST four columns (a leading class
    column is kept as is). ``x_new = (x * W * scale + left) / size``; sizes only scale.
    """
    out = np.array(boxes_norm, dtype=np.float32, copy=True)
    if out.size == 0:
        return out
    (w0, h0), (left, top) = orig_wh, pad
    sx, sy = w0 * scale / size, h0 * scale / size
    out[:, -4] = out[:, -4] * sx + left / size
    out[:, -3] = out[:, -3] * sy + top / size
    out[:, -2] *= sx
    out[:, -1] *= sy
    return out

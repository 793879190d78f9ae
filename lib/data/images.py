"""Decode one image file to RGB uint8, turning every decoder failure into a ``LabelError``.

``img.load()`` forces a full decode so a truncated PNG fails here, at load time,
with the file's name, instead of later inside a training step. PIL's
``LOAD_TRUNCATED_IMAGES`` is deliberately left off: a half-grey frame is worse
than an error.
"""
from __future__ import annotations

from pathlib import Path

import numpy as np
from PIL import Image

from .errors import LabelError


def load_rgb(path: str | Path) -> np.ndarray:
    """Read any PIL-readable image (grayscale, RGBA, palette, ...) as (H, W, 3) uint8 RGB."""
    path = Path(path)
    try:
        if path.stat().st_size == 0:
            raise LabelError(path, None, "image file is empty (0 bytes)")
        with Image.open(path) as im:
            im.load()
            if im.mode == "P" and "transparency" in im.info:
                im = im.convert("RGBA")
            rgb = im.convert("RGB")
    except LabelError:
        raise
    except FileNotFoundError:
        raise LabelError(path, None, "image file not found") from None
    except (OSError, ValueError, SyntaxError, Image.DecompressionBombError) as e:
        raise LabelError(path, None, f"cannot decode image ({type(e).__name__}: {e})") from None
    return np.asarray(rgb)

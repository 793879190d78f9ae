"""Decode one image file to the 8-bit RGB pixels a viewer shows, or raise one ``LabelError``.

Follows YOLOv5 ``utils/dataloaders.py``: the suffixes of its ``IMG_FORMATS`` and its
``exif_transpose`` (EXIF orientation applied, as ``cv2.imread`` also does), here with
``PIL.ImageOps.exif_transpose``. Alpha is dropped, not composited (``cv2.IMREAD_COLOR``
does the same), and deep images are scaled to 0..255, never clipped to white.

``img.load()`` forces a full decode so a truncated PNG fails here, at load time,
with the file's name, instead of later inside a training step. PIL's
``LOAD_TRUNCATED_IMAGES`` is deliberately left off: a half-grey frame is worse
than an error.
"""
from __future__ import annotations

import struct
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

import numpy as np
from PIL import Image, ImageOps

from .errors import LabelError

# YOLOv5 utils/dataloaders.py IMG_FORMATS, plus "heic" from Ultralytics ultralytics/data/utils.py.
_YOLO_FORMATS = ("bmp", "dng", "jpeg", "jpg", "mpo", "png", "tif", "tiff", "webp", "pfm", "heic")
# A plugin registers its suffixes only where this PIL build can use it (WebP needs libwebp);
# .mpo is opened by the JPEG plugin.
_PIL_SUFFIXES = Image.registered_extensions()
IMAGE_SUFFIXES: tuple[str, ...] = tuple(f".{s}" for s in _YOLO_FORMATS if f".{s}" in _PIL_SUFFIXES)
"""Lower-case suffixes (with the dot) that YOLOv5/Ultralytics accept and this PIL decodes."""
UNDECODABLE_SUFFIXES: tuple[str, ...] = tuple(f".{s}" for s in _YOLO_FORMATS if f".{s}" not in _PIL_SUFFIXES)
"""Suffixes YOLOv5/Ultralytics accept that this PIL cannot decode (e.g. ``.dng``, ``.heic``)."""

_DECODE_ERRORS = (OSError, ValueError, SyntaxError, EOFError, struct.error, Image.DecompressionBombError)


@contextmanager
def _reading(path: Path) -> Iterator[None]:
    """Check the suffix and size, then turn any failure in the block into a ``LabelError``."""
    suffix = path.suffix.lower()
    if suffix in UNDECODABLE_SUFFIXES:
        raise LabelError(path, None, f"image format {suffix} is accepted by YOLOv5 but cannot be "
                                     "decoded by PIL here; convert it to PNG or TIFF",
                         kind="image format PIL cannot decode")
    if suffix not in IMAGE_SUFFIXES:
        raise LabelError(path, None, f"image suffix {suffix or '(none)'!r} is not one YOLOv5 accepts "
                                     f"and PIL decodes ({' '.join(IMAGE_SUFFIXES)})",
                         kind="image suffix not accepted")
    try:
        if path.stat().st_size == 0:
            raise LabelError(path, None, "image file is empty (0 bytes)")
        yield
    except LabelError:
        raise
    except FileNotFoundError:
        raise LabelError(path, None, "image file not found") from None
    except _DECODE_ERRORS as e:
        raise LabelError(path, None, f"cannot decode image ({type(e).__name__}: {e})",
                         kind="cannot decode image") from None


def _grey16_to_8(a: np.ndarray) -> np.ndarray:
    """0..65535 -> 0..255 as round(v * 255 / 65535) (v / 257 is never a tie)."""
    return ((a.astype(np.int64) * 255 + 32767) // 65535).astype(np.uint8)


def _to_rgb8(im: Image.Image, path: Path) -> np.ndarray:
    """One decoded PIL image (any mode) -> (H, W, 3) uint8 RGB."""
    if im.mode.startswith("I;16") or im.mode == "I":  # 16-bit grey; 'I' (int32) must hold 16-bit values
        a = np.asarray(im)
        if im.mode == "I" and a.size and (a.min() < 0 or a.max() > 65535):
            raise LabelError(path, None, f"32-bit integer image has values {a.min()}..{a.max()}, "
                                         "outside the 16-bit range 0..65535 this loader scales to 0..255",
                             kind="integer image outside 0..65535")
        grey = _grey16_to_8(a)
    elif im.mode == "F":  # float (PFM, float TIFF): 0..1 is black..white
        a = np.asarray(im)
        if not np.isfinite(a).all():
            raise LabelError(path, None, "float image has NaN or infinite values; expected values in [0, 1]",
                             kind="float image outside [0, 1]")
        if a.size and (a.min() < 0 or a.max() > 1):
            raise LabelError(path, None, f"float image has values {a.min():g}..{a.max():g}, "
                                         "outside the range [0, 1] this loader scales to 0..255",
                             kind="float image outside [0, 1]")
        grey = np.rint(a * 255).astype(np.uint8)
    else:
        if im.mode == "P" and "transparency" in im.info:
            im = im.convert("RGBA")  # the palette colour; PIL warns on a direct P+transparency -> RGB
        return np.ascontiguousarray(np.asarray(im.convert("RGB")))  # drops alpha; '1' -> 0/255
    return np.ascontiguousarray(np.repeat(grey[:, :, None], 3, axis=2))


def load_rgb(path: str | Path) -> np.ndarray:
    """Decode an image file to the pixels a viewer shows: (H, W, 3) uint8 RGB, C-contiguous.

    H and W are after EXIF orientation (YOLOv5 ``exif_transpose``; ``PIL.ImageOps.exif_transpose``).
    Multi-frame files (TIFF pages, MPO) give their first frame. Modes: 8-bit ones as PIL's
    ``convert("RGB")`` (alpha dropped, palette colour, CMYK/YCbCr converted, '1' -> 0/255);
    16-bit grey ('I;16*', and 'I' with values in 0..65535) as round(v * 255 / 65535);
    float 'F' with values in [0, 1] as round(v * 255). 48-bit RGB PNG: PIL keeps the high byte.

    Raises ``LabelError`` naming the file for: a suffix outside ``IMAGE_SUFFIXES`` (one in
    ``UNDECODABLE_SUFFIXES`` says so), a missing or empty file, a truncated or corrupt file,
    'I' values outside 0..65535, 'F' values outside [0, 1].
    """
    path = Path(path)
    with _reading(path), Image.open(path) as im:
        im.load()
        return _to_rgb8(ImageOps.exif_transpose(im), path)


_TRANSPOSED = (5, 6, 7, 8)  # EXIF orientations that swap width and height


def image_size(path: str | Path) -> tuple[int, int]:
    """(w, h) of an image file as ``load_rgb`` would return it (after EXIF orientation), without decoding its
    pixels, and the file checked as YOLOv5's ``verify_image_label`` checks it: PIL's ``verify`` (a PNG's chunk
    checksums to its end), and a JPEG's end-of-image marker (one without it is decoded to decide).

    Raises ``LabelError`` as ``load_rgb`` does for a bad suffix, a missing, empty, truncated or unreadable file;
    damage that these checks miss fails later, in ``load_rgb``."""
    path = Path(path)
    with _reading(path), Image.open(path) as im:
        w, h, fmt = *im.size, im.format
        if fmt not in ("JPEG", "MPO"):
            im.verify()
    if fmt in ("JPEG", "MPO"):
        with open(path, "rb") as f:
            f.seek(-2, 2)
            if f.read() != b"\xff\xd9":
                load_rgb(path)  # trailing bytes after the marker decode; a truncated file raises here
    with _reading(path), Image.open(path) as im:
        if im.format == "PNG":  # PIL's getexif() decodes a whole PNG to look for a trailing eXIf chunk
            exif = Image.Exif()
            if "exif" in im.info:
                exif.load(im.info["exif"])
        else:
            exif = im.getexif()
        return (h, w) if exif.get(0x0112) in _TRANSPOSED else (w, h)

"""YOLO label files with a one-hot view line (the format of the upstream data).

One line per object, either a box ``cls cx cy w h`` or a polygon
``cls x1 y1 ... xk yk`` (k >= 3; its min/max is the box), then the one-hot view
line ``0 0 1`` as the last non-empty line. Blank lines are ignored. All
coordinates are normalised to [0, 1]. Every image must have a view, so a file
with no view line is an error, while a file with only the view line is a valid
image without objects.

``format_label`` writes the two variants seen in the real data, so the synthetic
benchmark exercises both parser paths.
"""
from __future__ import annotations

import math
from pathlib import Path
from typing import NamedTuple

import numpy as np

from .errors import LabelError

TOL = 1e-6  # slack for coordinates written as 1.0000001 by float round-off


class LabelRecord(NamedTuple):
    """``boxes``: float32 (n, 5) rows ``[cls, cx, cy, w, h]`` normalised; ``view``: view index."""

    boxes: np.ndarray
    view: int


def _numbers(path: Path, lineno: int, tokens: list[str]) -> list[float]:
    values = []
    for tok in tokens:
        try:
            v = float(tok)
        except ValueError:
            raise LabelError(path, lineno, f"token {tok!r} is not a number (expected numeric values only)") from None
        if not math.isfinite(v):
            raise LabelError(path, lineno, f"token {tok!r} is not a finite number")
        values.append(v)
    return values


def _view(path: Path, lineno: int, values: list[float], n_views: int) -> int:
    if any(v not in (0.0, 1.0) for v in values):
        raise LabelError(path, lineno, f"view line {values} is not one-hot: expected {n_views} values of 0 or 1")
    ones = [i for i, v in enumerate(values) if v == 1.0]
    if not ones:
        raise LabelError(path, lineno, f"view line has no 1: expected exactly one 1 among {n_views} values")
    if len(ones) > 1:
        raise LabelError(path, lineno, f"view line has {len(ones)} ones (at {ones}): expected exactly one 1")
    return ones[0]


def _class(path: Path, lineno: int, value: float, nc: int) -> int:
    if value != int(value):
        raise LabelError(path, lineno, f"class {value:g} is not an integer (expected 0..{nc - 1})")
    if not 0 <= value < nc:
        raise LabelError(path, lineno, f"class {int(value)} out of range: expected 0..{nc - 1} (nc={nc})")
    return int(value)


def _in_unit(path: Path, lineno: int, coords: list[float]) -> np.ndarray:
    for v in coords:
        if v < -TOL or v > 1 + TOL:
            raise LabelError(path, lineno, f"coordinate {v:g} outside [0, 1]: expected normalised coordinates")
    return np.clip(np.asarray(coords, dtype=np.float64), 0.0, 1.0)


def _object(path: Path, lineno: int, values: list[float], nc: int) -> list[float]:
    n = len(values)
    if n == 5:
        cls = _class(path, lineno, values[0], nc)
        cx, cy, w, h = _in_unit(path, lineno, values[1:])
        if w <= 0 or h <= 0:
            raise LabelError(path, lineno, f"box has zero or negative size (w={w:g}, h={h:g}): "
                                           "expected w > 0 and h > 0")
        return [cls, cx, cy, w, h]
    if n >= 6 and (n - 1) % 2 == 1:
        raise LabelError(path, lineno, f"polygon has an odd number of coordinates ({n - 1}): expected x y pairs")
    if n >= 7:
        cls = _class(path, lineno, values[0], nc)
        pts = _in_unit(path, lineno, values[1:]).reshape(-1, 2)
        (x0, y0), (x1, y1) = pts.min(0), pts.max(0)
        if x1 - x0 <= 0 or y1 - y0 <= 0:
            raise LabelError(path, lineno, "polygon has zero width or height: expected an area > 0")
        return [cls, (x0 + x1) / 2, (y0 + y1) / 2, x1 - x0, y1 - y0]
    raise LabelError(path, lineno, f"line has {n} values: expected 5 (cls cx cy w h) "
                                   f"or a polygon (cls x1 y1 ... xk yk, at least 3 points)")


def _looks_like_view(values: list[float]) -> bool:
    return all(v in (0.0, 1.0) for v in values)


def _is_valid_box(path: Path, lineno: int, values: list[float], nc: int) -> bool:
    try:
        _object(path, lineno, values, nc)
    except LabelError:
        return False
    return True


def parse_label_file(path: str | Path, nc: int, n_views: int) -> LabelRecord:
    """Parse one label file; raise ``LabelError`` naming file and line on any problem."""
    path = Path(path)
    try:
        text = path.read_text(encoding="utf-8")
    except (OSError, UnicodeDecodeError) as e:
        raise LabelError(path, None, f"cannot read label file ({e})") from None
    lines = [(i, s.split()) for i, s in enumerate(text.splitlines(), start=1) if s.strip()]
    if not lines:
        raise LabelError(path, None, f"empty label file: expected at least the one-hot view line "
                                     f"of {n_views} values (every image needs its view)")
    parsed = [(i, _numbers(path, i, toks)) for i, toks in lines]
    last_no, last = parsed[-1]
    if len(last) != n_views:
        if _looks_like_view(last) and not _is_valid_box(path, last_no, last, nc):
            raise LabelError(path, last_no, f"view line has {len(last)} values: expected {n_views} "
                                            f"(one-hot over the view names)")
        raise LabelError(path, None, f"no view line: the last non-empty line (line {last_no}) has {len(last)} "
                                     f"values; expected a one-hot view line of {n_views} values as the last line")
    view = _view(path, last_no, last, n_views)
    rows = [_object(path, i, values, nc) for i, values in parsed[:-1]]
    boxes = np.asarray(rows, dtype=np.float32).reshape(-1, 5)
    return LabelRecord(boxes, view)


def format_label(boxes: np.ndarray, view: int, n_views: int, variant: str = "polygon") -> str:
    """Write a label file body as the real data does (no trailing newline).

    ``polygon``: ``cls x1 y1 x2 y1 x2 y2 x1 y2`` (TL, TR, BR, BL; 4 decimals), a blank
    line, the view line. ``box``: ``cls cx cy w h`` (6 decimals) then the view line.
    """
    onehot = " ".join("1" if i == view else "0" for i in range(n_views))
    lines = []
    for cls, cx, cy, w, h in np.asarray(boxes, dtype=np.float64).reshape(-1, 5):
        if variant == "polygon":
            x0, y0, x1, y1 = cx - w / 2, cy - h / 2, cx + w / 2, cy + h / 2
            lines.append(f"{int(cls)} {x0:.4f} {y0:.4f} {x1:.4f} {y0:.4f} {x1:.4f} {y1:.4f} {x0:.4f} {y1:.4f}")
        elif variant == "box":
            lines.append(f"{int(cls)} {cx:.6f} {cy:.6f} {w:.6f} {h:.6f}")
        else:
            raise ValueError(f"unknown label variant {variant!r}; expected 'polygon' or 'box'")
    if variant == "polygon" and lines:
        lines.append("")
    return "\n".join(lines + [onehot])

"""YOLO label files with a view line (the format of the upstream data).

One line per object, either a box ``cls cx cy w h`` or a polygon
``cls x1 y1 ... xk yk`` (k >= 3; its min/max is the box), then the view as the
last non-empty line: one-hot (``0 0 1``, the upstream data) or one index
(``2``). Blank lines and a UTF-8 byte-order mark are ignored. Coordinates are
normalised to [0, 1]; values up to 1% outside (rounding in annotation tools)
are clipped, further out is an error. Every image must have a view, so a file
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

TOL = 1e-6    # float round-off (1.0000001): clipped silently
SLACK = 0.01  # annotation-tool rounding (1.0004, -0.0015): clipped and counted; beyond it, an error


class LabelRecord(NamedTuple):
    """``boxes``: float32 (n, 5) rows ``[cls, cx, cy, w, h]`` normalised; ``view``: view index.

    ``duplicates``: exact repeats of an object row that were dropped; ``clipped``: object rows
    moved into the image (a coordinate up to ``SLACK`` outside [0, 1], or a box past the edge)."""

    boxes: np.ndarray
    view: int
    duplicates: int = 0
    clipped: int = 0


def _numbers(path: Path, lineno: int, tokens: list[str]) -> list[float]:
    values = []
    for tok in tokens:
        try:
            v = float(tok)
        except ValueError:
            raise LabelError(path, lineno, f"token {tok!r} is not a number (expected numeric values only)",
                             kind="not a number") from None
        if not math.isfinite(v):
            raise LabelError(path, lineno, f"token {tok!r} is not a finite number", kind="not a number")
        values.append(v)
    return values


def _one_hot(path: Path, lineno: int, values: list[float], n_views: int) -> int:
    if any(v not in (0.0, 1.0) for v in values):
        raise LabelError(path, lineno, f"view line {values} is not one-hot: expected {n_views} values of 0 or 1",
                         kind="bad view line")
    ones = [i for i, v in enumerate(values) if v == 1.0]
    if not ones:
        raise LabelError(path, lineno, f"view line has no 1: expected exactly one 1 among {n_views} values",
                         kind="bad view line")
    if len(ones) > 1:
        raise LabelError(path, lineno, f"view line has {len(ones)} ones (at {ones}): expected exactly one 1",
                         kind="bad view line")
    return ones[0]


def _view_index(path: Path, lineno: int, value: float, n_views: int) -> int:
    if value != int(value) or not 0 <= value < n_views:
        raise LabelError(path, lineno, f"view index {value:g} is not one of 0..{n_views - 1} (a view line is "
                                       f"one index or a one-hot line of {n_views} values)", kind="bad view line")
    return int(value)


def is_index_view_line(values: list[float], n_views: int | None = None) -> bool:
    """A one-value view line ``2`` (an index), as opposed to a one-hot line (only ``1`` with one view)."""
    return len(values) == 1 and not (n_views == 1 and values[0] == 1.0)


def _class(path: Path, lineno: int, value: float, nc: int) -> int:
    if value != int(value):
        raise LabelError(path, lineno, f"class {value:g} is not an integer (expected 0..{nc - 1})",
                         kind="class not an integer")
    if not 0 <= value < nc:
        raise LabelError(path, lineno, f"class {int(value)} out of range: expected 0..{nc - 1} (nc={nc})",
                         kind="class out of range")
    return int(value)


def _in_range(path: Path, lineno: int, coords: list[float]) -> np.ndarray:
    for v in coords:
        if v < -SLACK or v > 1 + SLACK:
            raise LabelError(path, lineno, f"coordinate {v:g} outside [0, 1] by more than {SLACK:.0%}: expected "
                                           "normalised coordinates", kind="coordinate outside [0, 1]")
    return np.asarray(coords, dtype=np.float64)


def _object(path: Path, lineno: int, values: list[float], nc: int) -> tuple[list[float], bool]:
    """``([cls, cx, cy, w, h], clipped)`` from a box or polygon line."""
    n = len(values)
    if n == 5:
        cls = _class(path, lineno, values[0], nc)
        raw = _in_range(path, lineno, values[1:])
        cx, cy, w, h = raw.clip(0.0, 1.0)
        if w <= 0 or h <= 0:
            raise LabelError(path, lineno, f"box has zero or negative size (w={w:g}, h={h:g}): "
                                           "expected w > 0 and h > 0", kind="empty box")
        corners = np.array([cx - w / 2, cy - h / 2, cx + w / 2, cy + h / 2])
        inside = corners.clip(0.0, 1.0)
        moved = bool(np.abs(raw - (cx, cy, w, h)).max() > TOL or np.abs(inside - corners).max() > TOL)
        if (inside == corners).all():
            return [cls, cx, cy, w, h], moved
        (x0, y0, x1, y1), clipped = inside, moved
    elif n >= 6 and (n - 1) % 2 == 1:
        raise LabelError(path, lineno, f"polygon has an odd number of coordinates ({n - 1}): expected x y pairs",
                         kind="bad polygon")
    elif n >= 7:
        cls = _class(path, lineno, values[0], nc)
        raw = _in_range(path, lineno, values[1:])
        pts = raw.clip(0.0, 1.0).reshape(-1, 2)
        (x0, y0), (x1, y1) = pts.min(0), pts.max(0)
        clipped = bool(np.abs(pts.reshape(-1) - raw).max() > TOL)
    else:
        raise LabelError(path, lineno, f"line has {n} values: expected 5 (cls cx cy w h) "
                                       f"or a polygon (cls x1 y1 ... xk yk, at least 3 points)",
                         kind="wrong number of values")
    if x1 - x0 <= 0 or y1 - y0 <= 0:
        what = "polygon has zero width or height: expected an area > 0" if n != 5 else \
            "box lies outside the image: nothing of it is left inside [0, 1]"
        raise LabelError(path, lineno, what, kind="empty box")
    return [cls, (x0 + x1) / 2, (y0 + y1) / 2, x1 - x0, y1 - y0], clipped


def _looks_like_view(values: list[float]) -> bool:
    return all(v in (0.0, 1.0) for v in values)


def _is_valid_box(path: Path, lineno: int, values: list[float], nc: int) -> bool:
    try:
        _object(path, lineno, values, nc)
    except LabelError:
        return False
    return True


def read_lines(path: Path) -> list[tuple[int, list[float]]]:
    """``(line number, numbers)`` of every non-empty line; a UTF-8 byte-order mark is ignored.

    Raises ``LabelError`` for an unreadable file or a token that is not a finite number."""
    try:
        text = path.read_text(encoding="utf-8-sig")
    except (OSError, UnicodeDecodeError) as e:
        raise LabelError(path, None, f"cannot read label file ({e})", kind="cannot read label file") from None
    return [(i, _numbers(path, i, s.split())) for i, s in enumerate(text.splitlines(), start=1) if s.strip()]


def _view(path: Path, parsed: list[tuple[int, list[float]]], nc: int, n_views: int) -> int:
    last_no, last = parsed[-1]
    if is_index_view_line(last, n_views):
        return _view_index(path, last_no, last[0], n_views)
    if len(last) == n_views:
        return _one_hot(path, last_no, last, n_views)
    if _looks_like_view(last) and not _is_valid_box(path, last_no, last, nc):
        raise LabelError(path, last_no, f"view line has {len(last)} values: expected {n_views} "
                                        f"(one-hot over the view names) or one view index", kind="bad view line")
    raise LabelError(path, None, f"no view line: the last non-empty line (line {last_no}) has {len(last)} "
                                 f"values; expected a one-hot view line of {n_views} values (or one view index) "
                                 f"as the last line", kind="no view line")


def parse_label_file(path: str | Path, nc: int, n_views: int) -> LabelRecord:
    """Parse one label file; raise ``LabelError`` naming file and line on any problem.

    Exact duplicate object rows (same class and box) are dropped and counted, as
    Ultralytics' ``verify_image_label`` does; coordinates up to ``SLACK`` outside
    [0, 1] are clipped and counted; the view line is one-hot or a single index."""
    path = Path(path)
    parsed = read_lines(path)
    if not parsed:
        raise LabelError(path, None, f"empty label file: expected at least the one-hot view line "
                                     f"of {n_views} values (every image needs its view)", kind="empty label file")
    view = _view(path, parsed, nc, n_views)
    rows, seen, duplicates, clipped = [], set(), 0, 0
    for i, values in parsed[:-1]:
        row, was_clipped = _object(path, i, values, nc)
        key = tuple(float(v) for v in row)
        if key in seen:
            duplicates += 1
            continue
        seen.add(key)
        rows.append(row)
        clipped += was_clipped
    boxes = np.asarray(rows, dtype=np.float32).reshape(-1, 5)
    return LabelRecord(boxes, view, duplicates, clipped)


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

"""The two errors of the data layer.

``LabelError`` is about one file (a label or an image) and says where; ``DataError``
is about the data set description (``data.yaml``) and says which key. Both are
``ValueError``s so callers that only care about "bad input" can catch one type.
"""
from __future__ import annotations

from pathlib import Path


class LabelError(ValueError):
    """A bad label or image file: the message starts with ``path:line:`` like a compiler's."""

    def __init__(self, path: str | Path, line: int | None, what: str):
        self.path = Path(path)
        self.line = line
        self.what = what
        where = f"{path}:{line}" if line is not None else f"{path}"
        super().__init__(f"{where}: {what}")


class DataError(ValueError):
    """A bad ``data.yaml`` (missing file, syntax, missing key, wrong count, missing split)."""

"""The two errors of the data layer.

``LabelError`` is about one file (a label, an image or an image list) and says
where; ``DataError`` is about the data set description (``data.yaml``) and says
which key. Both are ``ValueError``s so callers that only care about "bad input"
can catch one type.
"""
from __future__ import annotations

from pathlib import Path


class LabelError(ValueError):
    """A bad label or image file: the message starts with ``path:line:`` like a compiler's.

    ``kind`` is a short name of the fault without the file's details ("coordinate outside
    [0, 1]"), used to count skipped files by cause; it defaults to ``what``."""

    def __init__(self, path: str | Path, line: int | None, what: str, kind: str | None = None):
        self.path = Path(path)
        self.line = line
        self.what = what
        self.kind = kind or what
        where = f"{path}:{line}" if line is not None else f"{path}"
        super().__init__(f"{where}: {what}")

    def __reduce__(self):  # pickled with the split it was found in (source's disk cache of decoded splits)
        return type(self), (self.path, self.line, self.what, self.kind)


class DataError(ValueError):
    """A bad ``data.yaml`` (missing file, syntax, missing key, wrong count, missing split)."""

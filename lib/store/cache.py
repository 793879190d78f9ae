"""A small disk cache for computed tables that are not training runs (e.g. the GradNorm paper toy).

``cached_frame(name, key, compute, sources)`` returns the DataFrame stored for
``key`` (any JSON-able value) and the source files' contents, or computes,
stores (atomically, CSV) and returns it. Lives beside the run store.
"""
from __future__ import annotations

import hashlib
import json
from pathlib import Path
from typing import Callable, Iterable

import pandas as pd

from .atomic import write_text
from .paths import cache_root


def cache_dir() -> Path:
    return cache_root()


def cached_frame(name: str, key, compute: Callable[[], pd.DataFrame], sources: Iterable[Path]) -> pd.DataFrame:
    h = hashlib.sha256(json.dumps(key, sort_keys=True, default=str).encode())
    for src in sorted(Path(s) for s in sources):
        h.update(src.read_bytes())
    path = cache_dir() / f"{name}-{h.hexdigest()[:16]}.csv"
    if path.is_file():
        return pd.read_csv(path)
    df = compute()
    write_text(path, df.to_csv(index=False))
    return pd.read_csv(path)  # the same values whether computed now or read later

"""The upstream report's stated values (``upstream_claims.yaml``), for printing beside our measurements."""
from __future__ import annotations

from functools import lru_cache
from pathlib import Path

import yaml


@lru_cache(maxsize=1)
def upstream_claims() -> dict:
    return yaml.safe_load((Path(__file__).with_name("upstream_claims.yaml")).read_text(encoding="utf-8"))

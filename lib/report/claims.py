"""The seed report's stated values (``seed_claims.yaml``), for printing beside our measurements."""
from __future__ import annotations

from functools import lru_cache
from pathlib import Path

import yaml


@lru_cache(maxsize=1)
def seed_claims() -> dict:
    return yaml.safe_load((Path(__file__).with_name("seed_claims.yaml")).read_text(encoding="utf-8"))

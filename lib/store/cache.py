"""The disk cache of computed results that are not training runs (e.g. the GradNorm paper toy): a
``joblib.Memory`` under ``lib.store.paths.cache_root()``.

joblib keys a call on the cached function's own code and its arguments only; a
function whose result depends on other ``lib`` code takes that code's
``lib.store.codekey.code_fingerprint`` as an argument, so an edit there is a new
entry.
"""
from __future__ import annotations

import joblib

from .paths import cache_root


def memory() -> joblib.Memory:
    """The cache, at the cache root of the moment (``$ECHO_MTL_RUNS`` read when called)."""
    return joblib.Memory(cache_root(), verbose=0)

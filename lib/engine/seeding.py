"""Determinism and device choice.

``torch_settings(threads)`` sets torch's thread count and deterministic mode
for a block of work and puts back what the caller had: a training run never
changes the process around it (a JupyterLab kernel, a test session).
"""
from __future__ import annotations

import os
import random
from contextlib import contextmanager

import numpy as np
import torch


def seed_everything(seed: int) -> None:
    """Seed Python, NumPy and torch (every device)."""
    random.seed(seed)
    np.random.seed(seed % 2**32)
    torch.manual_seed(seed)


@contextmanager
def torch_settings(threads: int = 0):
    """Inside: ``threads`` CPU threads (0: leave as is) and torch's deterministic kernels; restored after.

    On the CPU determinism makes two runs of one configuration bit-identical; on
    CUDA some kernels (e.g. scatter-add in backward) have no deterministic
    version, so ``warn_only`` keeps them running.
    """
    before = (torch.get_num_threads(), torch.are_deterministic_algorithms_enabled(),
              torch.is_deterministic_algorithms_warn_only_enabled(), torch.backends.cudnn.benchmark)
    os.environ.setdefault("CUBLAS_WORKSPACE_CONFIG", ":4096:8")
    try:
        if threads:
            torch.set_num_threads(threads)
        torch.use_deterministic_algorithms(True, warn_only=True)
        torch.backends.cudnn.benchmark = False
        yield
    finally:
        torch.set_num_threads(before[0])
        torch.use_deterministic_algorithms(before[1], warn_only=before[2])
        torch.backends.cudnn.benchmark = before[3]


def resolve_device(device: str = "auto") -> torch.device:
    if device == "auto":
        return torch.device("cuda" if torch.cuda.is_available() else "cpu")
    dev = torch.device(device)
    if dev.type == "cuda" and not torch.cuda.is_available():
        raise ValueError(f"device {device!r} asked for, but CUDA is not available on this machine")
    return dev


def capture_rng() -> dict:
    """The state of every global random generator: torch's CPU one, each CUDA device's (where CUDA is
    initialised), NumPy's and Python's. Tensors, numbers and lists only, so ``torch.load(...,
    weights_only=True)`` reads it back."""
    kind, keys, pos, has_gauss, gauss = np.random.get_state()
    version, py_state, py_gauss = random.getstate()
    state = {"torch": torch.get_rng_state(),
             "numpy": {"kind": kind, "keys": torch.from_numpy(keys.astype(np.int64)), "pos": int(pos),
                       "has_gauss": int(has_gauss), "gauss": float(gauss)},
             "python": {"version": version, "state": list(py_state), "gauss": py_gauss}}
    if torch.cuda.is_available() and torch.cuda.is_initialized():
        state["cuda"] = torch.cuda.get_rng_state_all()
    return state


def restore_rng(state: dict) -> None:
    """Put back what ``capture_rng`` returned. RuntimeError for a CUDA state where CUDA is missing."""
    torch.set_rng_state(state["torch"].cpu())
    n = state["numpy"]
    np.random.set_state((n["kind"], n["keys"].numpy().astype(np.uint32), n["pos"], n["has_gauss"], n["gauss"]))
    py = state["python"]
    random.setstate((py["version"], tuple(py["state"]), py["gauss"]))
    if "cuda" in state:
        if not torch.cuda.is_available():
            raise RuntimeError("this state was captured on a CUDA machine: restore it where CUDA is available")
        torch.cuda.set_rng_state_all([s.cpu() for s in state["cuda"]])


@contextmanager
def own_rng():
    """Inside, the global generators may be reseeded and used freely; the caller's states come back after."""
    before = capture_rng()
    try:
        yield
    finally:
        restore_rng(before)

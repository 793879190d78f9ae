"""Peak memory of a block of work, from what the OS and the CUDA allocator already keep (nothing is sampled).

CUDA: ``torch.cuda.max_memory_allocated`` since the block began (the
allocator's peak, reset at entry). CPU: the process's peak resident set,
``resource.getrusage(RUSAGE_SELF).ru_maxrss`` (KiB on Linux, bytes on macOS),
read at the block's end: it covers the process's whole life up to then, so it
is the block's peak unless something before the block took more (a run
trained in a fresh process: nothing but its own set-up came before).
The resident set includes the interpreter, torch's libraries and the cached
data set, which dwarf what one training step needs; so besides the peak we
report the increase over the resident set at entry (what the model's
activations and the optimiser state added; ``/proc/self/statm`` on Linux,
elsewhere the peak at entry, a lower baseline bound). Where the OS keeps
neither (Windows) both are NaN.
"""
from __future__ import annotations

import math
import os
import sys

import torch

_PAGE = os.sysconf("SC_PAGE_SIZE") if hasattr(os, "sysconf") else 4096


def peak_rss_bytes() -> float:
    """The process's peak resident set so far, in bytes; NaN where ``resource`` does not exist (Windows)."""
    try:
        import resource
    except ImportError:
        return math.nan
    peak = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss
    return float(peak if sys.platform == "darwin" else peak * 1024)


def rss_bytes() -> float:
    """The current resident set in bytes (Linux ``/proc``); elsewhere the peak so far (``peak_rss_bytes``)."""
    try:
        with open("/proc/self/statm") as f:
            return float(int(f.read().split()[1]) * _PAGE)
    except OSError:
        return peak_rss_bytes()


class PeakMemory:
    """``with PeakMemory(device) as pm: ...`` then ``pm.peak_mb`` and ``pm.increase_mb`` (MiB; see the module)."""

    def __init__(self, device: torch.device | str = "cpu"):
        self.device = torch.device(device)
        self.baseline = self.peak = 0.0

    def __enter__(self) -> "PeakMemory":
        if self.device.type == "cuda":
            torch.cuda.synchronize(self.device)
            torch.cuda.reset_peak_memory_stats(self.device)
            self.baseline = float(torch.cuda.memory_allocated(self.device))
        else:
            self.baseline = rss_bytes()
        return self

    def __exit__(self, *exc) -> None:
        if self.device.type == "cuda":
            torch.cuda.synchronize(self.device)
            self.peak = float(torch.cuda.max_memory_allocated(self.device))
        else:
            self.peak = peak_rss_bytes()

    @property
    def peak_mb(self) -> float:
        return self.peak / 2**20

    @property
    def increase_mb(self) -> float:
        return (self.peak - self.baseline) / 2**20

"""Peak memory of a block (lib.engine.memory): the OS's peak resident set, no sampling thread."""
import math
import sys
import threading

import torch

from lib.engine import memory
from lib.engine.memory import PeakMemory


def test_the_peak_covers_a_short_allocation_and_no_thread_is_started():
    before = threading.active_count()
    with PeakMemory("cpu") as pm:
        assert threading.active_count() == before
        x = torch.ones(64 * 2**20 // 4)  # 64 MiB, touched, then freed before the block ends
        del x
    assert pm.peak_mb >= 64 and pm.increase_mb >= 60


def test_getrusage_units_and_nan_where_the_os_keeps_no_peak(monkeypatch):
    import resource

    kib = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss
    expected = kib if sys.platform == "darwin" else kib * 1024
    assert abs(memory.peak_rss_bytes() - expected) <= 64 * 2**20
    monkeypatch.setitem(sys.modules, "resource", None)  # as on Windows: `import resource` fails
    monkeypatch.setattr(memory, "open", lambda *a, **k: (_ for _ in ()).throw(OSError()), raising=False)
    with PeakMemory("cpu") as pm:
        pass
    assert math.isnan(pm.peak_mb) and math.isnan(pm.increase_mb)

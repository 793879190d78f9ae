"""Random generators (lib.engine.seeding): capture and restore cover torch, NumPy and Python."""
import numpy as np
import torch


def test_rng_capture_covers_numpy_and_python():
    import random

    from lib.engine.seeding import capture_rng, restore_rng

    state = capture_rng()
    a = (torch.rand(2), np.random.rand(2), random.random())
    restore_rng(state)
    b = (torch.rand(2), np.random.rand(2), random.random())
    assert torch.equal(a[0], b[0]) and (a[1] == b[1]).all() and a[2] == b[2]

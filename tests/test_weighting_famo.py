"""FAMO (lib.weighting.famo): the task that improves least gains weight."""
import pytest
import torch

from lib.weighting import FAMO
from tests.helpers.two_head import TwoHead


def test_famo_favours_the_task_that_improves_least():
    famo = FAMO(2, lr=0.1, gamma=0.0)
    model = TwoHead()
    losses = [torch.tensor([1.0, 1.0]), torch.tensor([0.5, 0.95]), torch.tensor([0.25, 0.9])]
    for L in losses:
        info = famo.backward(list(L.clone().requires_grad_(True)), model)
    z = torch.softmax(famo.xi.detach(), 0)
    assert z[1] > z[0]  # task 1's log-loss fell less, so its logit rose
    # the network's effective weight on L_i is z_i / (c L_i) with c = sum_j z_j / L_j (z used in that step)
    z_used = torch.tensor([info.extra["famo_z0"], info.extra["famo_z1"]])
    L = losses[-1]
    assert info.weights == pytest.approx((z_used / ((z_used / L).sum() * L)).tolist(), rel=1e-5)

"""Dynamic weight average (lib.weighting.dwa): a known answer."""
import pytest
import torch

from lib.weighting import DWA
from tests.helpers.two_head import TwoHead


def test_dwa_known_answer():
    dwa = DWA(2, temperature=2.0)
    model = TwoHead()
    for epoch_losses in ([1.0, 2.0], [0.5, 2.0]):
        for _ in range(3):
            info = dwa.backward([torch.tensor(v, requires_grad=True) for v in epoch_losses], model)
            assert info.weights == [1.0, 1.0]  # first two epochs: equal
        dwa.on_epoch_end()
    r = torch.tensor([0.5 / 1.0, 2.0 / 2.0])
    expected = 2 * torch.softmax(r / 2.0, 0)
    info = dwa.backward([torch.tensor(1.0, requires_grad=True)] * 2, model)
    assert info.weights == pytest.approx(expected.tolist())
    assert info.weights[1] > info.weights[0]  # the task that stopped improving gains weight

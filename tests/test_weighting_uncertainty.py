"""Uncertainty weighting (lib.weighting.uncertainty): the weights reach their closed-form optimum."""
import pytest
import torch

from lib.weighting import Uncertainty
from tests.helpers.two_head import TwoHead


def test_uncertainty_weights_reach_their_closed_form_optimum():
    """For fixed losses L_i, exp(-s) L + s is minimised at s = log L (weight 1 / L)."""
    uw = Uncertainty(2)
    opt = torch.optim.Adam(uw.parameters(), lr=0.05)
    fixed = torch.tensor([4.0, 0.25])
    model = TwoHead()
    for _ in range(600):
        opt.zero_grad()
        uw.backward(list(fixed.clone().requires_grad_(True)), model)
        opt.step()
    assert torch.allclose(uw.log_var.detach(), fixed.log(), atol=1e-2)
    info = uw.backward(list(fixed.clone().requires_grad_(True)), model)
    assert info.weights == pytest.approx((1 / fixed).tolist(), rel=2e-2)

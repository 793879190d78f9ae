"""Gradient interference (lib.evaluate.interference): measured through the trunk/head boundary, as GradNorm's
fast path runs, it equals the plain measurement."""
import pytest
import torch

from lib.losses import DetectionLoss, view_loss
from lib.models import build_model, default_anchors, forward_with_boundary
from tests.helpers.yolo_batch import IMGSZ, TARGETS, VIEWS


def test_interference_measured_at_the_boundary_equals_the_plain_measurement():
    """The trainer measures gradient interference through the boundary when GradNorm runs there."""
    from lib.evaluate.interference import measure

    torch.manual_seed(0)
    model = build_model("shared", 4, 3, default_anchors(IMGSZ)).eval()  # eval: no dropout, same outputs
    x = torch.randn(4, 3, IMGSZ, IMGSZ)
    losses_fn = lambda out: [DetectionLoss(model.detect, IMGSZ)(out[0][1], TARGETS)[0],  # noqa: E731
                             view_loss(out[1], VIEWS)]
    plain = measure(losses_fn(model(x)), model.shared_parameters())
    outputs, boundary = forward_with_boundary(model, x)
    at_boundary = measure(losses_fn(outputs), model.shared_parameters(), boundary)
    assert plain.keys() == at_boundary.keys()
    for k in plain:
        assert at_boundary[k] == pytest.approx(plain[k], rel=1e-5), k
    assert -1 < plain["grad_cos"] < 1 and plain["grad_norm_det"] > 0 and plain["grad_norm_view"] > 0

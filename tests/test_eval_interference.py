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


def test_per_layer_cosines_equal_a_cosine_computed_per_module():
    """Each ``grad_cos.<layer>`` equals the cosine of the two losses' gradients w.r.t. that module alone
    (computed here by autograd per module, not by slicing one flat vector); names follow the attributes."""
    from lib.evaluate.interference import measure

    torch.manual_seed(0)
    model = build_model("shared", 4, 3, default_anchors(IMGSZ)).eval()
    x = torch.randn(4, 3, IMGSZ, IMGSZ)
    out = model(x)
    losses = [DetectionLoss(model.detect, IMGSZ)(out[0][1], TARGETS)[0], view_loss(out[1], VIEWS)]
    got = measure(losses, model.shared_parameters(), layers=model.shared_layers())
    modules = dict(model.named_modules())
    names = [k.split(".", 1)[1] for k in got if k.startswith("grad_cos.")]
    assert names == ["backbone.stem", "backbone.stage2", "backbone.stage3", "backbone.stage4", "backbone.stage5",
                     "fpn.lat5", "fpn.c3_p4", "fpn.lat4", "fpn.out"]
    for name in names:
        params = list(modules[name].parameters())
        g = [torch.cat([t.reshape(-1) for t in torch.autograd.grad(loss, params, retain_graph=True)]) for loss in losses]
        want = float(torch.nn.functional.cosine_similarity(g[0], g[1], dim=0))
        assert got[f"grad_cos.{name}"] == pytest.approx(want, rel=1e-4, abs=1e-6), name


def test_layer_cosines_refuse_sizes_that_do_not_cover_the_gradient():
    from lib.evaluate.interference import layer_cosines

    g = torch.ones(5)
    assert layer_cosines(g, -g, [("a", 2), ("b", 3)]) == {"grad_cos.a": pytest.approx(-1.0), "grad_cos.b": pytest.approx(-1.0)}
    with pytest.raises(ValueError, match="add up to 4"):
        layer_cosines(g, g, [("a", 4)])

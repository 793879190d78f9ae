"""Architectures: known parameter counts, shapes, and the shared/task parameter split."""
import math

import pytest
import torch

from lib.upstream.toy import UpstreamToyModel
from lib.models import (YOLOv5WithClassification, build_model, count_parameters, default_anchors)
from lib.models.detect import Detect

ANCHORS = default_anchors(128)


def test_yolov5_parameter_counts_match_ultralytics():
    # ultralytics/yolov5 v6 model summaries at nc=80: YOLOv5n 1,872,157 and YOLOv5s 7,235,389 parameters.
    assert count_parameters(YOLOv5WithClassification(80, 3, default_anchors(640), "n", tasks=("det",))) == 1_872_157
    assert count_parameters(YOLOv5WithClassification(80, 3, default_anchors(640), "s", tasks=("det",))) == 7_235_389


def test_seed_toy_has_exactly_1224_parameters():
    assert count_parameters(UpstreamToyModel()) == 1224


def test_default_model_is_cpu_sized():
    n = count_parameters(build_model("shared", 4, 3, ANCHORS))
    assert 100_000 < n < 1_000_000


@pytest.mark.parametrize("imgsz", [64, 128, 160])
def test_shared_model_output_shapes(imgsz):
    m = build_model("shared", 4, 3, ANCHORS)
    det, view = m(torch.randn(2, 3, imgsz, imgsz))
    assert [tuple(d.shape) for d in det] == [(2, 3, imgsz // s, imgsz // s, 9) for s in (8, 16, 32)]
    assert view.shape == (2, 3)
    m.eval()
    (decoded, raw), view = m(torch.randn(2, 3, imgsz, imgsz))
    assert decoded.shape == (2, 3 * sum((imgsz // s) ** 2 for s in (8, 16, 32)), 9)
    assert ((decoded[..., 4:] >= 0) & (decoded[..., 4:] <= 1)).all()


def test_dual_backbone_trains_end_to_end_and_shares_nothing():
    m = build_model("dual", 4, 3, ANCHORS)
    det, view = m(torch.randn(2, 3, 128, 128))
    (sum(d.sum() for d in det) + view.sum()).backward()
    assert m.shared_parameters() == []
    assert all(p.grad is not None for p in m.parameters())
    counts = m.parameter_counts()
    assert counts["det"] + counts["view"] == counts["total"] and counts["shared"] == 0


@pytest.mark.parametrize("name", ["shared", "detached", "dual"])
def test_parameter_parts_partition_the_model(name):
    m = build_model(name, 4, 3, ANCHORS)
    ids = [id(p) for p in m.shared_parameters()] + [id(p) for t in m.tasks for p in m.task_parameters(t)]
    assert len(ids) == len(set(ids))
    assert set(ids) == {id(p) for p in m.parameters()}


def test_norm_layer_is_the_last_shared_layer_of_the_shared_model():
    m = build_model("shared", 4, 3, ANCHORS)
    shared = {id(p) for p in m.shared_parameters()}
    assert m.last_shared_layer() is m.fpn.out.cv3.conv
    assert all(id(p) in shared for t in m.tasks for p in m.norm_parameters(t))
    assert m.norm_parameters("det") == m.norm_parameters("view") == [m.fpn.out.cv3.conv.weight]
    # both task losses reach W
    det, view = m(torch.randn(2, 3, 128, 128))
    for loss in (sum(d.sum() for d in det), view.sum()):
        (g,) = torch.autograd.grad(loss, m.norm_parameters("det"), retain_graph=True)
        assert g.abs().sum() > 0


def test_detached_head_sends_no_gradient_into_the_trunk():
    m = build_model("detached", 4, 3, ANCHORS)
    _, view = m(torch.randn(2, 3, 128, 128))
    trunk = list(m.backbone.parameters()) + list(m.fpn.parameters())
    grads = torch.autograd.grad(view.sum(), trunk, allow_unused=True)
    assert all(g is None or g.abs().sum() == 0 for g in grads)
    assert m.last_shared_layer() is None and m.shared_parameters() == []


def test_single_task_models_drop_the_other_head():
    det_only = build_model("shared", 4, 3, ANCHORS, tasks=("det",))
    view_only = build_model("shared", 4, 3, ANCHORS, tasks=("view",))
    x = torch.randn(1, 3, 64, 64)
    assert det_only(x)[1] is None and view_only(x)[0] is None
    assert count_parameters(view_only) < count_parameters(det_only)


def test_unknown_names_are_refused():
    with pytest.raises(ValueError, match="unknown model"):
        build_model("triple", 4, 3, ANCHORS)
    with pytest.raises(ValueError, match="unknown scale"):
        build_model("shared", 4, 3, ANCHORS, scale="xxl")


@pytest.mark.parametrize("nc", [1, 4])
def test_detect_bias_init_is_yolov5s(nc):
    # YOLOv5 models/yolo.py _initialize_biases: obj += log(8 / (640 / s) ** 2), cls += log(0.6 / (nc - 0.99999))
    d = Detect(nc, default_anchors(640), (16, 32, 64))
    for conv in d.m:
        conv.bias.data.zero_()
    d.initialize_biases(640)
    for conv, s in zip(d.m, (8, 16, 32)):
        b = conv.bias.view(d.na, nc + 5)
        assert torch.equal(b[:, :4], torch.zeros(d.na, 4))
        assert torch.equal(b[:, 4], torch.full((d.na,), math.log(8 / (640 / s) ** 2)))
        assert torch.equal(b[:, 5:], torch.full((d.na, nc), math.log(0.6 / (nc - 0.99999))))
    # known answers: P3 objectness, and the class prior for nc = 4 and nc = 1
    assert math.isclose(float(d.m[0].bias[4].detach()), -6.6846117, abs_tol=1e-6)
    assert math.isclose(float(d.m[0].bias[5].detach()), {4: -1.6094412, 1: 11.0020998}[nc], abs_tol=1e-6)

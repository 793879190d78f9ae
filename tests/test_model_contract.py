"""Every model of the project passes the model contract (tests/helpers/model_contract.py); the fast GradNorm path
cannot depend on how a model lists its modules, and no model keeps graph tensors on itself."""
import copy

import pytest
import torch

from lib.losses import DetectionLoss, view_loss
from lib.upstream.toy import UpstreamToyModel
from lib.models import PaperToyModel, build_model, default_anchors, forward_with_boundary
from lib.models.yolo import YOLOv5WithClassification
from lib.weighting import GradNorm
from tests.helpers.model_contract import check_boundary_gradients, check_model_contract
from tests.helpers.yolo_batch import IMGSZ, TARGETS, VIEWS


def yolo_losses(model):
    det_loss = DetectionLoss(model.detect, IMGSZ)
    return lambda out: [det_loss(out[0], TARGETS)[0], view_loss(out[1], VIEWS)]


@pytest.mark.parametrize("name", ["shared", "detached", "dual"])
def test_each_model_of_the_report_keeps_the_contract(name):
    torch.manual_seed(0)
    model = build_model(name, 4, 3, default_anchors(IMGSZ))
    check_model_contract(model, torch.randn(4, 3, IMGSZ, IMGSZ), yolo_losses(model))


def test_the_toy_models_keep_the_contract():
    torch.manual_seed(0)
    upstream_toy = UpstreamToyModel()
    check_model_contract(upstream_toy, torch.randn(4, 3, 8, 8), lambda out: [out[0].pow(2).mean(), out[1].abs().mean()])
    paper = PaperToyModel(3, d_in=8, d_out=4, hidden=8)
    check_model_contract(paper, torch.randn(16, 8), lambda out: [o.pow(2).mean() * (i + 1) for i, o in enumerate(out)])


def test_the_shared_model_takes_gradnorm_at_its_boundary():
    """h17 is computed from h14 and both are boundary tensors: only leaf inputs make the fast path exact."""
    model = build_model("shared", 4, 3, default_anchors(IMGSZ))
    assert GradNorm(2).wants_boundary(model)
    _, boundary = forward_with_boundary(model, torch.randn(2, 3, IMGSZ, IMGSZ))
    assert len(boundary.inputs) == 3 and all(t.is_leaf and t.requires_grad for t in boundary.inputs)


class DetectNotListed(YOLOv5WithClassification):
    """A model that forgets Detect in its detection modules (and so breaks the partition)."""

    def task_modules(self, task):
        return [self.pan] if task == "det" else super().task_modules(task)


def test_fast_path_reaches_every_head_parameter_however_the_model_lists_them():
    torch.manual_seed(0)
    model = DetectNotListed(4, 3, default_anchors(IMGSZ))
    check_boundary_gradients(model, torch.randn(4, 3, IMGSZ, IMGSZ), yolo_losses(model))
    assert all(p.grad is not None and p.grad.abs().sum() > 0 for p in model.detect.parameters())


def test_a_model_is_deep_copyable_after_a_training_step():
    model = build_model("shared", 4, 3, default_anchors(IMGSZ))
    x = torch.randn(4, 3, IMGSZ, IMGSZ)
    sum(yolo_losses(model)(model(x))).backward()
    model(x)
    clone = copy.deepcopy(model)  # old code kept view_as aliases of trunk tensors on the module
    averaged = torch.optim.swa_utils.AveragedModel(model)
    averaged.update_parameters(model)
    assert all(torch.equal(p, q) for p, q in zip(model.parameters(), clone.parameters()))


def test_contract_check_catches_a_broken_partition():
    with pytest.raises(AssertionError, match="belong to no part"):
        check_model_contract(DetectNotListed(4, 3, default_anchors(IMGSZ)), torch.randn(4, 3, IMGSZ, IMGSZ),
                             yolo_losses(DetectNotListed(4, 3, default_anchors(IMGSZ))))

"""``evaluate`` and ``predictions`` on a fake model with fixed outputs."""

import math
from types import SimpleNamespace
from typing import NamedTuple

import pytest
import torch
from torch import nn

from lib.evaluate import evaluate, predictions

S = 64
NAMES = ["AR", "MR"]
VIEWS = ["PSAX", "PLAX", "A4C"]


class Batch(NamedTuple):
    images: torch.Tensor
    targets: torch.Tensor
    views: torch.Tensor
    indices: torch.Tensor


class Loader:
    """Two batches of two images; one jet per image, at a known place."""

    dataset = SimpleNamespace(names=NAMES, view_names=VIEWS)

    def __init__(self):
        self.batches = []
        for b in range(2):
            targets = torch.tensor([[0, b, 0.5, 0.5, 0.25, 0.25], [1, 1, 0.25, 0.25, 0.125, 0.25]])
            self.batches.append(Batch(torch.rand(2, 3, S, S), targets,
                                      torch.tensor([0, 1]), torch.tensor([2 * b, 2 * b + 1])))

    def __iter__(self):
        return iter(self.batches)


class FakeModel(nn.Module):
    """Returns the ground-truth box of each image (plus a weak spurious one) and view logits.

    The image's position in the loader is read off a marker pixel, so the
    outputs are fixed per image. The view logit of the second image of each
    batch is wrong (predicts A4C for PLAX).
    """

    def __init__(self, det=True, view=True):
        super().__init__()
        self.w = nn.Parameter(torch.zeros(1))
        self.det, self.view = det, view
        self.seen_training = []

    def forward(self, images):
        self.seen_training.append(self.training)
        assert not torch.is_grad_enabled()
        B = images.shape[0]
        decoded = torch.zeros(B, 3, 5 + len(NAMES))
        b = int(images[0, 0, 0, 0] > 1)  # batch marker set by the test
        decoded[0, 0] = torch.tensor([32, 32, 16, 16, 0.9, float(b == 0) * 0.9 + 0.05, float(b == 1) * 0.9 + 0.05])
        decoded[1, 0] = torch.tensor([16, 16, 8, 16, 0.9, 0.05, 0.95])
        decoded[:, 1] = torch.tensor([5, 5, 4, 4, 0.3, 0.5, 0.1])  # spurious, conf .15
        decoded[:, 2] = torch.tensor([50, 50, 4, 4, 0.0001, 0.5, 0.5])  # below conf_thres
        logits = torch.tensor([[5.0, 0, 0], [0, 0, 5.0]])[:B]
        raw = [torch.ones(B, 3, 2, 2, 7)]
        return ((decoded, raw) if self.det else None), (logits if self.view else None)


@pytest.fixture
def loader():
    ld = Loader()
    ld.batches[1].images[0, 0, 0, 0] = 2.0  # marker: image 0 of batch 1 holds an MR jet
    return ld


def test_evaluate_known_answer(loader):
    model = FakeModel()
    model.train()
    det_loss = lambda raw, targets: (raw[0].sum() * 0 + targets.shape[0], torch.zeros(3))
    view_loss_fn = nn.CrossEntropyLoss()
    res = evaluate(model, loader, det_loss=det_loss, view_loss_fn=view_loss_fn)
    assert model.training and model.seen_training == [False, False]
    m = res.metrics()
    assert list(m) == ["mAP50", "mAP50_95", "precision", "recall", "f1", "view_accuracy", "view_macro_f1"]
    assert all(type(v) is float for v in m.values())
    assert m["mAP50"] == pytest.approx(1) and m["mAP50_95"] == pytest.approx(1)
    # the spurious .15 boxes rank below every true box: the best threshold excludes them
    assert (m["precision"], m["recall"], m["f1"]) == (1.0, 1.0, 1.0)
    assert res.detection.conf_threshold > 0.15
    assert res.detection.per_class["n_gt"].tolist() == [1, 3]
    assert m["view_accuracy"] == 0.5
    # PSAX F1 1, PLAX F1 0, A4C F1 0 (predicted, never true)
    assert m["view_macro_f1"] == pytest.approx(1 / 3)
    assert res.view.confusion.loc["PLAX", "A4C"] == 2
    assert res.losses["det"] == 2.0
    assert res.losses["view"] == pytest.approx(float(view_loss_fn(torch.tensor([[5.0, 0, 0], [0, 0, 5.0]]), torch.tensor([0, 1]))))
    assert res.n_images == 4 and res.seconds > 0


def test_single_task_models_give_nan_for_the_missing_task(loader):
    view_only = evaluate(FakeModel(det=False), loader, det_loss=lambda r, t: (1.0, None)).metrics()
    assert all(math.isnan(view_only[k]) for k in ["mAP50", "mAP50_95", "precision", "recall", "f1"])
    assert view_only["view_accuracy"] == 0.5
    det_only = evaluate(FakeModel(view=False), loader, view_loss_fn=nn.CrossEntropyLoss())
    assert math.isnan(det_only.metrics()["view_accuracy"]) and det_only.view is None
    assert det_only.metrics()["mAP50"] == pytest.approx(1) and det_only.losses == {}


def test_predictions_for_overlays(loader):
    out = predictions(FakeModel(), loader, max_images=3)
    assert [o["index"] for o in out] == [0, 1, 2]
    assert out[0]["boxes"].shape == (1, 6)  # the .15 box is under the 0.25 default
    torch.testing.assert_close(out[1]["boxes"][0, :4], torch.tensor([12.0, 8, 20, 24]))
    assert out[1]["view_pred"] == 2 and 0.9 < out[1]["view_prob"] < 1
    assert predictions(FakeModel(view=False), loader)[0]["view_pred"] is None


class ObjectFreeLoader:
    """A split in which no image has a ground-truth object: two batches of two images, no targets."""

    dataset = SimpleNamespace(names=NAMES, view_names=VIEWS)

    def __init__(self):
        g = torch.Generator().manual_seed(0)
        self.batches = [Batch(torch.rand(2, 3, S, S, generator=g), torch.zeros(0, 6), torch.tensor([0, 1]),
                              torch.tensor([2 * b, 2 * b + 1])) for b in range(2)]

    def __iter__(self):
        return iter(self.batches)


def test_split_without_objects_gives_nan_detection_metrics_with_a_warning():
    """An untrained model detects plenty, but with nothing to find its mAP, P, R, F1 are undefined, not 0."""
    from lib.models import build_model, default_anchors

    torch.manual_seed(0)
    model = build_model("shared", len(NAMES), len(VIEWS), default_anchors(S), "p")
    loader = ObjectFreeLoader()
    assert sum(len(p["boxes"]) for p in predictions(model, loader, conf_thres=0.001)) > 0
    with pytest.warns(UserWarning, match="no ground-truth objects"):
        res = evaluate(model, loader)
    m = res.metrics()
    assert all(math.isnan(m[k]) for k in ["mAP50", "mAP50_95", "precision", "recall", "f1"]), m
    assert 0.0 <= m["view_accuracy"] <= 1.0  # the other task is still scored
    assert res.detection.per_class["n_gt"].sum() == 0 and res.n_images == 4

"""YOLOv5 target assignment and loss: known assignments, gradients toward the target."""
import torch

from lib.losses import DetectionLoss, build_targets, view_loss
from lib.models import YOLOv5WithClassification, default_anchors
from lib.models.anchors import best_possible_recall, fit_anchors


def test_assignment_uses_centre_and_two_nearest_neighbours():
    # one 16x16 px box centred at (36, 44) px on a 128 px image; P3 grid is 16x16 (stride 8)
    t = torch.tensor([[0, 2, 36 / 128, 44 / 128, 16 / 128, 16 / 128]])
    anchors = torch.tensor([[[2.0, 2.0], [100.0, 100.0], [100.0, 100.0]]])  # grid units; only anchor 0 fits
    (lv,) = build_targets([(16, 16)], anchors, t)
    # centre at grid (4.5, 5.5): both fractions are exactly .5, so no neighbour is nearer than the centre
    assert sorted(zip(lv.gi.tolist(), lv.gj.tolist())) == [(4, 5)]
    assert set(lv.anchor.tolist()) == {0} and set(lv.cls.tolist()) == {2}
    # centre at (4.2, 5.7) grid: left neighbour (x frac < .5) and lower neighbour (y frac > .5)
    t2 = torch.tensor([[0, 1, 4.2 / 16, 5.7 / 16, 2 / 16, 2 / 16]])
    (lv2,) = build_targets([(16, 16)], anchors, t2)
    assert sorted(zip(lv2.gi.tolist(), lv2.gj.tolist())) == [(3, 5), (4, 5), (4, 6)]
    # targets are expressed relative to each cell, so they lie in (-0.5, 1.5)
    assert ((lv2.box[:, :2] > -0.5) & (lv2.box[:, :2] < 1.5)).all()


def test_anchor_ratio_threshold_filters_matches():
    t = torch.tensor([[0, 0, 0.5, 0.5, 0.5, 0.5]])  # 8x8 grid units on a 16 grid
    anchors = torch.tensor([[[1.0, 1.0], [4.0, 4.0], [16.0, 16.0]]])
    (lv,) = build_targets([(16, 16)], anchors, t, anchor_t=4.0)
    assert set(lv.anchor.tolist()) == {1, 2}  # 8/1 = 8 > 4 excluded; 8/4 = 2 and 16/8 = 2 kept


def test_no_targets_gives_finite_objectness_only_loss():
    m = YOLOv5WithClassification(4, 3, default_anchors(64))
    det, _ = m(torch.randn(2, 3, 64, 64))
    loss, items = DetectionLoss(m.detect, 64)(det, torch.zeros(0, 6))
    assert torch.isfinite(loss) and items[0] == 0 and items[2] == 0 and items[1] > 0


def test_detection_loss_falls_when_fitting_one_image():
    torch.manual_seed(0)
    m = YOLOv5WithClassification(4, 3, default_anchors(64), tasks=("det",))
    m.detect.initialize_biases(64)
    crit = DetectionLoss(m.detect, 64)
    x = torch.randn(1, 3, 64, 64)
    t = torch.tensor([[0, 1, 0.5, 0.5, 0.3, 0.4]])
    opt = torch.optim.Adam(m.parameters(), 1e-2)
    first = None
    for _ in range(30):
        loss, _ = crit(m(x)[0], t)
        first = first if first is not None else float(loss.detach())
        opt.zero_grad()
        loss.backward()
        opt.step()
    assert float(loss.detach()) < 0.5 * first


def test_view_loss_is_cross_entropy():
    logits = torch.tensor([[2.0, 0.0, 0.0]])
    expected = -torch.log_softmax(logits, 1)[0, 0]
    assert torch.isclose(view_loss(logits, torch.tensor([0])), expected)


def test_fitted_anchors_cover_the_labels():
    g = torch.Generator().manual_seed(0)
    wh = (torch.rand(500, 2, generator=g) * 30 + 8).numpy()
    anchors = fit_anchors(wh)
    assert anchors.shape == (3, 3, 2)
    areas = anchors.prod(-1).flatten()
    assert torch.all(areas[1:] >= areas[:-1])  # small anchors on P3, large on P5
    assert best_possible_recall(anchors, wh) == 1.0

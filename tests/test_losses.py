"""YOLOv5 target assignment and loss: known assignments, gradients toward the target."""
import itertools

import torch

from lib.losses import DetectionLoss, build_targets, objectness_target, view_loss
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


def test_shared_cell_objectness_target_is_the_best_iou_in_any_order():
    # three positives share image 1 / anchor 2 / cell (gj 3, gi 0); a fourth sits alone
    image, anchor = torch.tensor([1, 0, 1, 1]), torch.tensor([2, 1, 2, 2])
    gj, gi = torch.tensor([3, 2, 3, 3]), torch.tensor([0, 2, 0, 0])
    iou = torch.tensor([0.3, 0.5, 0.9, 0.6])
    expected = torch.zeros(2, 3, 4, 4)
    expected[1, 2, 3, 0], expected[0, 1, 2, 2] = 0.9, 0.5
    for perm in itertools.permutations(range(4)):
        p = list(perm)
        tobj = objectness_target((2, 3, 4, 4), image[p], anchor[p], gj[p], gi[p], iou[p])
        assert torch.equal(tobj, expected), perm
    assert torch.equal(objectness_target((2, 3, 4, 4), *(torch.zeros(0, dtype=torch.long),) * 4, torch.zeros(0)),
                       torch.zeros(2, 3, 4, 4))


def _reverse_indexed_writes(monkeypatch):
    """Make ``t[i, j, ...] = values`` apply its writes last-to-first, as a GPU may among duplicate indices."""
    setitem = torch.Tensor.__setitem__

    def reversed_setitem(self, key, value):
        if (isinstance(key, tuple) and all(isinstance(k, torch.Tensor) and k.dim() == 1 for k in key)
                and isinstance(value, torch.Tensor) and value.dim() == 1 and len(value) == len(key[0]) > 1):
            key, value = tuple(k.flip(0) for k in key), value.flip(0)
        return setitem(self, key, value)

    monkeypatch.setattr(torch.Tensor, "__setitem__", reversed_setitem)


def test_shared_cell_objectness_does_not_depend_on_write_or_target_order(monkeypatch):
    torch.manual_seed(0)
    m = YOLOv5WithClassification(4, 3, default_anchors(64), tasks=("det",))
    crit = DetectionLoss(m.detect, 64)
    raw = [torch.randn(2, 3, 64 // s, 64 // s, 9) for s in (8, 16, 32)]
    # two same-sized-ish boxes centred on one point share cells and anchors but not their IoU
    t = torch.tensor([[0, 1, 0.45, 0.45, 0.30, 0.30],
                      [0, 2, 0.45, 0.45, 0.40, 0.22],
                      [1, 0, 0.70, 0.30, 0.20, 0.25]])
    levels = build_targets([p.shape[2:4] for p in raw], m.detect.anchors / m.detect.stride.view(-1, 1, 1), t)
    cells = torch.cat([torch.stack((torch.full_like(lv.image, i), lv.image, lv.anchor, lv.gj, lv.gi), 1)
                       for i, lv in enumerate(levels)])
    assert len(cells.unique(dim=0)) < len(cells)  # the case under test: cells hit by both boxes
    _, items = crit(raw, t)
    for perm in itertools.permutations(range(3)):
        _, permuted = crit(raw, t[list(perm)])
        assert permuted[1] == items[1], perm  # objectness bit-identical in any target order
        assert torch.allclose(permuted, items)
    _reverse_indexed_writes(monkeypatch)
    _, reversed_writes = crit(raw, t)
    assert reversed_writes[1] == items[1]  # the best IoU wins a shared cell, not the last write


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

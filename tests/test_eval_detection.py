"""Detection metrics: known answers and a cross-check against torchmetrics."""

import math
import warnings

import pytest
import torch

from lib.evaluate import DetectionEvaluator, best_f1_point, coco_ap, match_image
from lib.evaluate.detection import _coco_map

NAMES = ["AR", "MR", "PR", "TR"]


def evaluate(preds, gts, names=NAMES):
    ev = DetectionEvaluator(names)
    ev.update([torch.tensor(p, dtype=torch.float32).reshape(-1, 6) for p in preds],
              [torch.tensor(g, dtype=torch.float32).reshape(-1, 5) for g in gts])
    return ev.compute()


def test_perfect_predictions():
    gts = [[[0, 0, 0, 10, 10], [1, 20, 20, 40, 40]], [[1, 5, 5, 15, 25]]]
    preds = [[[0, 0, 10, 10, 0.9, 0], [20, 20, 40, 40, 0.8, 1]], [[5, 5, 15, 25, 0.7, 1]]]
    rep = evaluate(preds, gts)
    assert rep.map50 == pytest.approx(1) and rep.map50_95 == pytest.approx(1)
    assert (rep.precision, rep.recall, rep.f1) == (1.0, 1.0, 1.0)
    assert rep.conf_threshold == pytest.approx(0.7)
    pc = rep.per_class
    assert pc.loc["AR", "n_gt"] == 1 and pc.loc["MR", "n_gt"] == 2 and pc.loc["MR", "n_pred"] == 2
    # PR and TR have no ground truth: NaN, and out of the means
    assert pc.loc[["PR", "TR"], ["AP50", "AP50_95", "recall", "F1"]].isna().all().all()
    assert set(rep.pr_curves["class"]) == {"AR", "MR"} and len(rep.pr_curves) == 2 * 101
    assert (rep.pr_curves["precision"] == 1).all()
    assert rep.confusion.loc["MR", "MR"] == 2 and rep.confusion.loc["background"].sum() == 0


def test_shifted_box_counts_at_iou_50_not_75():
    gt = torch.tensor([[0, 0, 0, 10, 10.0]])
    pred = torch.tensor([[2, 0, 12, 10, 0.9, 0.0]])  # IoU 80/120 = 2/3
    assert match_image(pred, gt, 0.5).tolist() == [True]
    assert match_image(pred, gt, 0.75).tolist() == [False]
    rep = evaluate([pred.tolist()], [gt.tolist()])
    assert rep.map50 == pytest.approx(1)
    # matched at IoU .50 .55 .60 .65 of the ten thresholds
    assert rep.map50_95 == pytest.approx(0.4)


def test_wrong_class_is_false_positive():
    rep = evaluate([[[0, 0, 10, 10, 0.9, 1]]], [[[0, 0, 0, 10, 10]]])
    assert rep.map50 == 0 and rep.precision == 0 and rep.recall == 0 and rep.f1 == 0
    assert rep.per_class.loc["MR", "precision"] == 0 and rep.per_class.loc["MR", "n_pred"] == 1
    assert math.isnan(rep.per_class.loc["MR", "recall"])
    assert rep.confusion.loc["AR", "MR"] == 1


def test_duplicate_detection_is_false_positive_and_each_gt_matched_once():
    pred = torch.tensor([[0, 0, 10, 10, 0.9, 0], [0, 0, 10, 10.5, 0.8, 0], [0, 0, 10, 11, 0.7, 0]])
    gt = torch.tensor([[0, 0, 0, 10, 10.0], [0, 0, 0, 10, 11.0]])
    # the first takes the box it overlaps most; the second the remaining one; the third nothing
    assert match_image(pred, gt).tolist() == [True, True, False]


def summary(rep):
    return [rep.map50, rep.map50_95, rep.precision, rep.recall, rep.f1]


def test_ground_truth_without_predictions_gives_zeros_and_no_warning():
    """Defined: there was something to find and nothing was found."""
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        rep = evaluate([[], []], [[[0, 0, 0, 10, 10]], []])
    assert summary(rep) == [0.0] * 5
    assert not [w for w in caught if "ground-truth" in str(w.message)]
    assert (rep.pr_curves["precision"] == 0).all() and set(rep.pr_curves["class"]) == {"AR"}
    assert rep.per_class.loc["AR", "AP50"] == 0 and math.isnan(rep.per_class.loc["MR", "AP50"])


@pytest.mark.parametrize("preds, gts", [
    ([[[0, 0, 10, 10, 0.9, 1], [5, 5, 20, 20, 0.4, 0]], [[1, 1, 8, 8, 0.7, 2]]], [[], []]),  # detections, no objects
    ([[]], [[]]),  # nothing at all
    ([], []),      # no image
], ids=["predictions", "empty", "no-image"])
def test_no_ground_truth_gives_nan_and_one_warning(preds, gts):
    """Undefined metrics are undefined: a split without objects must not look like a model that finds nothing."""
    with pytest.warns(UserWarning, match="no ground-truth objects") as caught:
        rep = evaluate(preds, gts) if preds else DetectionEvaluator(NAMES).compute()
    assert len([w for w in caught if "ground-truth" in str(w.message)]) == 1
    assert all(math.isnan(v) for v in summary(rep)), summary(rep)
    # per class: nothing defined either, and no curve to draw
    assert rep.per_class[["AP50", "AP50_95", "recall", "F1"]].isna().all().all()
    assert (rep.per_class["n_gt"] == 0).all() and rep.pr_curves.empty


def test_torchmetrics_undefined_map_is_nan_not_zero():
    assert math.isnan(_coco_map(torch.tensor(-1.0)))
    assert _coco_map(torch.tensor(0.0)) == 0.0 and _coco_map(torch.tensor(0.25)) == 0.25


def test_best_f1_point_hand_example():
    # class 0: 2 GT, class 1: 1 GT. Mean F1 at t = .9 .8 .7 .6: 1/3 1/3 1/2 5/6.
    conf = torch.tensor([0.9, 0.8, 0.7, 0.6])
    cls = torch.tensor([0, 1, 0, 1])
    tp = torch.tensor([True, False, True, True])
    op = best_f1_point(conf, cls, tp, torch.tensor([2, 1, 0]))
    assert op.conf == pytest.approx(0.6)
    torch.testing.assert_close(op.precision[:2], torch.tensor([1.0, 0.5], dtype=torch.float64))
    torch.testing.assert_close(op.recall[:2], torch.tensor([1.0, 1.0], dtype=torch.float64))
    torch.testing.assert_close(op.f1[:2], torch.tensor([1.0, 2 / 3], dtype=torch.float64))


def test_coco_ap_hand_example():
    # TP, FP, TP with 2 GT: precision 1, .5, 2/3 -> envelope 1 up to R=.5, 2/3 up to R=1
    ap = coco_ap(torch.tensor([0.9, 0.8, 0.7]), torch.tensor([True, False, True]), 2)
    assert ap == pytest.approx((51 * 1 + 50 * 2 / 3) / 101)


def random_set(g, n_img=15, nc=3):
    """Ground truth plus jittered, relabelled and spurious detections, distinct scores."""
    preds, gts = [], []
    for _ in range(n_img):
        m = int(torch.randint(0, 5, (1,), generator=g))
        xy = torch.rand(m, 2, generator=g) * 80
        gt = torch.cat([torch.randint(0, nc, (m, 1), generator=g).float(), xy,
                        xy + torch.rand(m, 2, generator=g) * 30 + 5], 1)
        src = gt[torch.randint(0, m, (6,), generator=g)] if m else torch.zeros(0, 5)
        boxes = src[:, 1:] + torch.randn(len(src), 4, generator=g) * 4
        cls = torch.where(torch.rand(len(src), generator=g) < 0.8, src[:, 0],
                          torch.randint(0, nc, (len(src),), generator=g).float())
        rxy = torch.rand(2, 2, generator=g) * 80
        boxes = torch.cat([boxes, torch.cat([rxy, rxy + 20], 1)])
        boxes = torch.cat([boxes[:, :2].minimum(boxes[:, 2:]), boxes[:, :2].maximum(boxes[:, 2:]) + 1], 1)
        cls = torch.cat([cls, torch.randint(0, nc, (2,), generator=g).float()])
        conf = torch.rand(len(boxes), generator=g, dtype=torch.float64).float()
        preds.append(torch.cat([boxes, conf[:, None], cls[:, None]], 1))
        gts.append(gt)
    return preds, gts


@pytest.mark.parametrize("seed", range(5))
def test_ap50_from_our_tp_flags_equals_torchmetrics(seed):
    preds, gts = random_set(torch.Generator().manual_seed(seed))
    ev = DetectionEvaluator(NAMES[:3])
    ev.update(preds, gts)
    rep = ev.compute()
    tp = torch.cat([match_image(p, t) for p, t in zip(preds, gts)])
    P, G = torch.cat(preds), torch.cat(gts)
    assert P[:, 4].unique().numel() == len(P)  # distinct scores: no tie-breaking question
    for c, name in enumerate(NAMES[:3]):
        s = P[:, 5] == c
        ours = coco_ap(P[s, 4], tp[s], int((G[:, 0] == c).sum()))
        theirs = rep.per_class.loc[name, "AP50"]
        assert (math.isnan(ours) and math.isnan(theirs)) or abs(ours - theirs) < 1e-6
    assert rep.map50 == pytest.approx(rep.per_class["AP50"].mean(), abs=1e-6)

"""Detection metrics: known answers and a cross-check against torchmetrics."""

import math
import warnings

import numpy as np
import pytest
import torch

from lib.evaluate import DetectionEvaluator, best_f1_point, coco_ap, match_image

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


# ---- COCO's exact grids: known answers that float32 thresholds get wrong ----------------------------------
#
# pycocotools builds its grids in float64 (np.linspace); torchmetrics' defaults are float32, where 0.6 is
# 0.6000000238 and 0.85 is 0.8500000238. Boxes below are 100 x 100 ground truths at x = 200 i; a true
# positive of IoU v is the same box cut to height 100 v (IoU = 100 v / 100 exactly), a false positive sits
# far below every box. Scores fall in list order.

PYCOCO_REC = np.linspace(0.0, 1.00, int(np.round((1.00 - 0.0) / 0.01)) + 1, endpoint=True)  # cocoeval.Params
PYCOCO_IOU = np.linspace(0.5, 0.95, int(np.round((0.95 - 0.5) / 0.05)) + 1, endpoint=True)


def gt_box(i, cls):
    return [cls, 200 * i, 0, 200 * i + 100, 100]


def det(i, cls, score, iou=0.9):
    """Detection of ground truth ``i`` with IoU ``iou`` (a multiple of 0.01), or a false positive if ``iou`` is None."""
    if iou is None:
        return [200 * i, 500, 200 * i + 100, 600, score, cls]
    return [200 * i, 0, 200 * i + 100, round(100 * iou), score, cls]


def detections(cls, flags, first_gt=0, scores=None):
    """One detection per flag (1 TP, 0 FP), TPs taking ground truths first_gt, first_gt + 1, ... in turn."""
    scores = scores or [0.9 - 0.1 * k for k in range(len(flags))]
    out, i = [], first_gt
    for f, s in zip(flags, scores):
        out.append(det(i, cls, s) if f else det(i, cls, s, iou=None))
        i += f
    return out


AP_TTTFTT = (61 + 40 * 5 / 6) / 101  # 0.933993..., pycocotools; float32 grid: (60 + 41 * 5 / 6) / 101 = 0.932343


def test_grids_are_pycocotools_float64():
    from faster_coco_eval.core.cocoeval import Params

    from lib.evaluate.coco import IOU50, IOU_THRESHOLDS, REC_THRESHOLDS
    p = Params(iouType="bbox")
    assert REC_THRESHOLDS == PYCOCO_REC.tolist() == p.recThrs.tolist()  # bit for bit
    assert IOU_THRESHOLDS == PYCOCO_IOU.tolist() == p.iouThrs.tolist()
    assert IOU_THRESHOLDS[IOU50] == 0.5 and IOU50 == 0
    assert REC_THRESHOLDS[60] == 3 / 5 and IOU_THRESHOLDS[7] == 17 / 20  # the values float32 gets wrong


def test_coco_ap_recall_exactly_on_grid_point():
    """TP TP TP FP TP TP, 5 GT: recall .2 .4 .6 .6 .8 1, precision 1 1 1 3/4 4/5 5/6, envelope 1 1 1 5/6 5/6 5/6.

    Recall thresholds 0 .. 0.60 (61 points) are reached at recall 0.6 with precision 1, 0.61 .. 1 (40) at
    5/6: AP = (61 + 40 * 5/6) / 101.
    """
    ap = coco_ap(torch.linspace(0.9, 0.4, 6), torch.tensor([1, 1, 1, 0, 1, 1]).bool(), 5)
    assert ap == pytest.approx(AP_TTTFTT, abs=1e-12) and round(ap, 6) == 0.933993


@pytest.mark.parametrize("layout", ["one-image", "image-per-box"])
def test_known_answer_recall_exactly_on_grid_point(layout):
    """The issue's known answer, pycocotools AP@0.5 = 0.933993 (float32 grid: 0.932343).

    5 ground-truth boxes of class 0 and six detections TP TP TP FP TP TP, all IoU 0.9 (see
    ``test_coco_ap_recall_exactly_on_grid_point`` for the sum). ``one-image``: all in one image;
    ``image-per-box``: ground truth i in image i, the FP in image 3 (away from its box). Matching is per
    image, accumulation over the set, so both give the same AP. IoU 0.9 is a match at every threshold up
    to pycocotools' 0.8999999999999999, not at 0.95: AP50_95 = 9/10 AP50.
    """
    gts = [gt_box(i, 0) for i in range(5)]
    dets = detections(0, [1, 1, 1, 0, 1, 1])
    if layout == "one-image":
        rep = evaluate([dets], [gts])
    else:
        img = [0, 1, 2, 3, 3, 4]  # detection k lies in image img[k]; the FP sits in image 3
        rep = evaluate([[d for d, j in zip(dets, img) if j == i] for i in range(5)], [[g] for g in gts])
    assert rep.map50 == pytest.approx(AP_TTTFTT, abs=1e-12) and round(rep.map50, 6) == 0.933993
    assert rep.per_class.loc["AR", "AP50"] == pytest.approx(AP_TTTFTT, abs=1e-12)
    assert rep.map50_95 == pytest.approx(0.9 * AP_TTTFTT, abs=1e-12)
    assert rep.per_class.loc["AR", "AP50_95"] == pytest.approx(0.9 * AP_TTTFTT, abs=1e-12)
    curve = rep.pr_curves[rep.pr_curves["class"] == "AR"]
    assert curve["recall"].tolist() == PYCOCO_REC.tolist()
    assert curve["precision"].tolist() == pytest.approx([1.0] * 61 + [5 / 6] * 40, abs=1e-12)


def test_multiclass_known_answer_by_hand():
    """Two classes, 5 ground truths each, interleaved scores; a third class only has a false positive.

    AR: TP TP TP FP TP TP -> AP = (61 * 1 + 40 * 5/6) / 101 = 0.9339934 (float32 grid: 0.9323432).

    MR: TP FP TP TP FP TP (one box missed):
        recall     .2  .2   .4   .6   .6   .8
        precision  1   1/2  2/3  3/4  3/5  2/3
        envelope   1   3/4  3/4  3/4  2/3  2/3
        r = 0 .. .20 (21 points) -> 1;  .21 .. .60 (40) -> 3/4;  .61 .. .80 (20) -> 2/3;  .81 .. 1 (20) -> 0
        AP = (21 * 1 + 40 * 3/4 + 20 * 2/3 + 20 * 0) / 101 = (193/3) / 101 = 0.6369637
        (float32 grid: 0.6 and 0.8 round up, so .60 falls to 2/3 and .80 to 0:
         (21 + 39 * 3/4 + 20 * 2/3) / 101 = 0.6295380)

    PR: no ground truth -> AP NaN, out of the mean. mAP50 = (AP_AR + AP_MR) / 2 = 0.7854785.
    All TPs have IoU 0.9 (a match up to 0.90, not at 0.95), so every AP50_95 is 9/10 of AP50.
    """
    ap_ar = (61 * 1 + 40 * 5 / 6) / 101
    ap_mr = (21 * 1 + 40 * 3 / 4 + 20 * 2 / 3 + 20 * 0) / 101
    gts = [gt_box(i, 0) for i in range(5)] + [gt_box(i, 1) for i in range(5, 10)]
    ar = detections(0, [1, 1, 1, 0, 1, 1], scores=[0.95, 0.85, 0.75, 0.65, 0.55, 0.45])
    mr = detections(1, [1, 0, 1, 1, 0, 1], first_gt=5, scores=[0.9, 0.8, 0.7, 0.6, 0.5, 0.4])
    pr = [det(20, 2, 0.99, iou=None)]
    rep = evaluate([ar + mr + pr], [gts])
    pc = rep.per_class
    assert pc.loc["AR", "AP50"] == pytest.approx(ap_ar, abs=1e-12)
    assert pc.loc["MR", "AP50"] == pytest.approx(ap_mr, abs=1e-12) and round(ap_mr, 7) == 0.6369637
    assert math.isnan(pc.loc["PR", "AP50"]) and math.isnan(pc.loc["TR", "AP50"])
    assert rep.map50 == pytest.approx((ap_ar + ap_mr) / 2, abs=1e-12) and round(rep.map50, 7) == 0.7854785
    assert rep.map50_95 == pytest.approx(0.9 * (ap_ar + ap_mr) / 2, abs=1e-12)
    assert pc.loc[["AR", "MR"], "AP50_95"].tolist() == pytest.approx([0.9 * ap_ar, 0.9 * ap_mr], abs=1e-12)


def test_iou_exactly_on_threshold_is_a_match():
    """COCO matches at IoU >= t on its float64 grid, where 0.75 and 0.85 are exactly 3/4 and 17/20.

    Two ground truths; detections of IoU exactly 0.85 (score .9) and exactly 0.75 (score .8).
        t = .50 .55 .60 .65 .70 .75: both TP (0.75 >= 0.75)      -> AP 1
        t = .80 .85: TP FP, recall .5 .5, precision 1 1/2           -> AP 51/101 (r = 0 .. .50)
        t = .90 .95: nothing matches                                -> AP 0
    AP50_95 = (6 + 2 * 51/101) / 10 = 0.7009901. (float32 grid: 0.85 is 0.8500000238 > 17/20, so the
    first detection misses t = .85: (6 + 51/101) / 10 = 0.6504950.)
    """
    gts = [gt_box(0, 0), gt_box(1, 0)]
    rep = evaluate([[det(0, 0, 0.9, iou=0.85), det(1, 0, 0.8, iou=0.75)]], [gts])
    assert rep.map50 == 1.0
    assert rep.map50_95 == pytest.approx((6 + 2 * 51 / 101) / 10, abs=1e-12)
    assert round(rep.map50_95, 7) == 0.7009901


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

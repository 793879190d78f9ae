"""NMS and target conversion: known answers."""

import torch

from lib.evaluate import non_max_suppression, targets_to_xyxy


def row(cx, cy, w, h, obj, *probs):
    return [cx, cy, w, h, obj, *probs]


def test_nms_conf_is_obj_times_best_class_and_suppresses_same_class():
    decoded = torch.tensor([[
        row(50, 50, 20, 20, 0.9, 0.2, 0.8),  # conf .72 class 1
        row(51, 50, 20, 20, 0.8, 0.1, 0.7),  # overlaps the first, same class: suppressed
        row(50, 50, 20, 20, 0.5, 0.9, 0.1),  # same place, other class: kept (class-aware)
        row(10, 10, 4, 4, 0.0005, 1.0, 0.0),  # objectness below conf_thres
    ]])
    (out,) = non_max_suppression(decoded, conf_thres=0.001, iou_thres=0.6)
    expected = torch.tensor([[40, 40, 60, 60, 0.72, 1], [40, 40, 60, 60, 0.45, 0]])
    torch.testing.assert_close(out, expected)


def test_nms_thresholds_and_max_det():
    decoded = torch.tensor([[row(10 + 20 * i, 10, 8, 8, 0.9, 0.1 * (i + 1)) for i in range(5)]])
    (out,) = non_max_suppression(decoded, conf_thres=0.2, max_det=2)
    # confs .09 .18 .27 .36 .45: three pass 0.2, the two best are kept
    torch.testing.assert_close(out[:, 4], torch.tensor([0.45, 0.36]))
    empty = non_max_suppression(torch.zeros(2, 4, 7))
    assert [e.shape for e in empty] == [(0, 6), (0, 6)]


def test_targets_to_xyxy_splits_per_image_in_pixels():
    targets = torch.tensor([[1, 2, 0.5, 0.5, 0.25, 0.5], [1, 0, 0.25, 0.25, 0.5, 0.5]])
    out = targets_to_xyxy(targets, batch_size=3, imgsz=64)
    assert out[0].shape == (0, 5) and out[2].shape == (0, 5)
    torch.testing.assert_close(out[1], torch.tensor([[2.0, 24, 16, 40, 48], [0.0, 0, 0, 32, 32]]))

"""YOLOv5-style detection confusion matrix: known answer."""

import torch

from lib.evaluate import DetectionConfusionMatrix


def test_confusion_known_answer():
    cm = DetectionConfusionMatrix(["AR", "MR"])
    gt = torch.tensor([
        [0, 0, 0, 10, 10],    # AR, found
        [1, 20, 20, 30, 30],  # MR, detected as AR
        [0, 40, 40, 50, 50],  # AR, only a low-confidence detection: missed
        [1, 60, 60, 70, 70],  # MR, detection overlaps IoU 0.4 < 0.45: missed
    ])
    pred = torch.tensor([
        [0, 0, 10, 10, 0.9, 0],
        [20, 20, 30, 30, 0.8, 0],
        [40, 40, 50, 50, 0.1, 0],   # below conf 0.25: ignored
        [80, 80, 90, 90, 0.7, 1],   # nothing there: false alarm
        [60, 60, 64, 70, 0.6, 1],   # IoU 0.4 with the MR box: false alarm
    ])
    cm.update(pred, gt)
    df = cm.frame()
    assert list(df.index) == ["AR", "MR", "background"] == list(df.columns)
    assert df.loc["AR"].tolist() == [1, 0, 1]
    assert df.loc["MR"].tolist() == [1, 0, 1]
    assert df.loc["background"].tolist() == [0, 2, 0]


def test_confusion_one_to_one_and_empty_image():
    cm = DetectionConfusionMatrix(["AR", "MR"])
    gt = torch.tensor([[1, 0, 0, 10, 10]])
    pred = torch.tensor([[0, 0, 10, 10, 0.9, 1], [0, 0, 10, 10, 0.8, 1]])  # duplicate
    cm.update(pred, gt)
    cm.update(pred, torch.zeros(0, 5))  # no ground truth: both false alarms
    assert cm.frame().loc["MR"].tolist() == [0, 1, 0]
    assert cm.frame().loc["background"].tolist() == [0, 3, 0]

"""View classification metrics against a hand-computed example."""

import math

import torch

from lib.evaluate import view_metrics

NAMES = ["PSAX", "PLAX", "A4C", "A2C"]


def test_view_metrics_hand_example():
    target = torch.tensor([0, 0, 1, 1, 2, 2])
    pred = torch.tensor([0, 1, 1, 1, 2, 0])
    rep = view_metrics(pred, target, NAMES)
    assert rep.accuracy == 4 / 6
    # F1: PSAX .5, PLAX .8, A4C 2/3; A2C absent from both and left out
    assert math.isclose(rep.macro_f1, (0.5 + 0.8 + 2 / 3) / 3)
    assert rep.confusion.loc["PSAX"].tolist() == [1, 1, 0, 0]
    assert rep.confusion.loc["PLAX"].tolist() == [0, 2, 0, 0]
    assert rep.confusion.loc["A4C"].tolist() == [1, 0, 1, 0]
    assert rep.confusion.index.name == "true" and rep.confusion.columns.name == "pred"
    pc = rep.per_class
    assert pc.loc["PLAX", "precision"] == 2 / 3 and pc.loc["PLAX", "recall"] == 1.0
    assert pc.loc["A4C", "precision"] == 1.0 and pc.loc["A4C", "recall"] == 0.5
    assert pc.loc["A2C"].tolist() == [0, 0, 0, 0]
    assert pc["support"].tolist() == [2, 2, 2, 0]


def test_view_metrics_predicted_absent_class_counts_in_macro():
    rep = view_metrics(torch.tensor([3, 0]), torch.tensor([0, 0]), NAMES)
    # PSAX: P 1, R .5, F1 2/3; A2C predicted but never true: F1 0
    assert math.isclose(rep.macro_f1, (2 / 3 + 0) / 2)


def test_view_metrics_empty_is_nan():
    rep = view_metrics(torch.zeros(0, dtype=torch.long), torch.zeros(0, dtype=torch.long), NAMES)
    assert math.isnan(rep.accuracy) and math.isnan(rep.macro_f1)

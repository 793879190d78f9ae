"""One view per clip from its frames: clip ids from upstream frame names, the mean probability's view, accuracy."""
import math

import numpy as np
import pytest

from lib.evaluate.clips import clip_ids, clip_of, clip_view_accuracy, clip_views

VIEWS = ["PSAX", "PLAX", "A4C"]


def test_clip_ids_from_upstream_and_roboflow_names():
    assert clip_of("a/SYN0042-2.mp4-17.png") == "SYN0042-2"
    assert clip_of("P000-c3_mp4-10_png.rf.0a1b2c.jpg") == "P000-c3"
    assert clip_of("frame.png") is None
    assert clip_ids(["x/P1-1.mp4-0.png", "y/other.png"]).tolist() == ["P1-1", "frame:y/other.png"]


def test_a_clip_reads_the_mean_probability_not_the_majority_of_frames():
    clips = ["A", "A", "A", "B"]
    prob = np.array([[0.4, 0.6, 0.0], [0.4, 0.6, 0.0], [1.0, 0.0, 0.0], [0.1, 0.2, 0.7]])
    table = clip_views(clips, prob, VIEWS)
    # clip A: two frames vote PLAX, but the mean (0.6, 0.4, 0) reads PSAX
    assert table["clip"].tolist() == ["A", "B"] and table["frames"].tolist() == [3, 1]
    assert table["view"].tolist() == ["PSAX", "A4C"]
    assert table.loc[0, ["prob_PSAX", "prob_PLAX", "prob_A4C"]].tolist() == pytest.approx([0.6, 0.4, 0.0])
    assert clip_view_accuracy(clips, prob, np.array([0, 0, 0, 1])) == (0.5, 2)


def test_without_a_view_head_there_is_no_clip_accuracy():
    acc, n = clip_view_accuracy(["A"], None, np.array([0]))
    assert math.isnan(acc) and n == 0

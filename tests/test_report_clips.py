"""Clip-level reading and the two-level bootstrap (lib.report.clips): known answers, a duplicated data set as
the reference for weights, and the stored test metrics of a real run reproduced from its saved model."""
import json
import math

import numpy as np
import pytest
import torch

from lib.evaluate import coco_ap
from lib.report import clips


def toy(seed=0, frames=12, per_clip=3, nc=2):
    """Frames in clips of ``per_clip``; random detections with TP flags and ground truth per frame."""
    rng = np.random.default_rng(seed)
    n_det = 40
    gt = rng.integers(0, 3, size=(frames, nc))
    probs = rng.dirichlet(np.ones(3), size=frames)
    return clips.Outcomes(
        clips=np.array([f"P-{i // per_clip}" for i in range(frames)], dtype=object),
        view_true=rng.integers(0, 3, frames), view_prob=probs,
        det_frame=rng.integers(0, frames, n_det), det_conf=rng.random(n_det), det_cls=rng.integers(0, nc, n_det),
        det_tp=rng.random(n_det) < 0.5, gt=gt)


def repeat(o: clips.Outcomes, weights: np.ndarray) -> clips.Outcomes:
    """The same data with frame f copied weights[f] times: what a resample means, built the long way."""
    keep = np.repeat(np.arange(len(weights)), weights.astype(int))
    new_index = {}
    det = []
    for new, old in enumerate(keep):
        new_index.setdefault(old, []).append(new)
        det += [(new, d) for d in np.flatnonzero(o.det_frame == old)]
    d_new, d_old = (np.array([a for a, _ in det], int), np.array([b for _, b in det], int))
    return clips.Outcomes(o.clips[keep], o.view_true[keep], o.view_prob[keep], d_new, o.det_conf[d_old],
                          o.det_cls[d_old], o.det_tp[d_old], o.gt[keep])


def test_one_resample_of_every_frame_once_is_the_split_itself():
    o = toy()
    r = clips.replicates(o, np.ones((1, 12)))
    assert r["mAP50"][0] == pytest.approx(clips.map50(o), abs=1e-12)
    assert r["view_accuracy"][0] == pytest.approx(clips.view_accuracy(o))


@pytest.mark.parametrize("seed", [0, 1, 2])
def test_a_weighted_resample_equals_the_data_set_with_those_frames_copied(seed):
    o = toy(seed)
    draws = clips.clip_draws(o.clips, n=5, seed=seed)
    r = clips.replicates(o, draws)
    for k, w in enumerate(draws):
        long = repeat(o, w)
        assert r["view_accuracy"][k] == pytest.approx(clips.view_accuracy(long))
        expected = clips.map50(long) if long.gt.sum() else math.nan
        assert r["mAP50"][k] == pytest.approx(expected, abs=1e-12, nan_ok=True)


def test_map50_is_cocos_ap_per_class_averaged():
    o = toy()
    aps = [coco_ap(torch.from_numpy(o.det_conf[o.det_cls == c]), torch.from_numpy(o.det_tp[o.det_cls == c]),
                   int(o.gt[:, c].sum())) for c in range(2)]
    assert clips.map50(o) == pytest.approx(np.mean(aps))


def test_clip_draws_draw_whole_clips():
    o = toy(frames=12, per_clip=3)
    draws = clips.clip_draws(o.clips, n=50, seed=3)
    assert draws.shape == (50, 12)
    assert (draws.reshape(50, 4, 3).std(2) == 0).all()  # the frames of a clip are drawn together
    assert (draws.reshape(50, 4, 3)[:, :, 0].sum(1) == 4).all()  # four clips drawn per resample
    assert (clips.clip_draws(o.clips, 50, seed=3) == draws).all()  # the same seed, the same resamples


def test_a_clip_is_read_from_its_mean_probability():
    o = toy(frames=6, per_clip=3)
    o.view_true[:] = [0, 0, 0, 1, 1, 1]
    o.view_prob[:] = [[0.9, 0.1, 0], [0.2, 0.8, 0], [0.2, 0.8, 0],  # clip 0: mean picks 1 (wrong)
                      [0.1, 0.9, 0], [0.6, 0.4, 0], [0.6, 0.4, 0]]  # clip 1: mean 0.433 vs 0.567 picks 1 (right)
    assert clips.view_accuracy(o) == pytest.approx(2 / 6)
    assert clips.clip_view_accuracy(o) == (0.5, 2)


def test_the_paired_bootstrap_of_a_constant_shift_is_that_shift_and_needs_two_seeds():
    rng = np.random.default_rng(0)
    a = {s: rng.random(200) for s in range(5)}
    assert clips.paired_bootstrap(a, a)[:2] == (0.0, 0.0)
    shifted = {s: v + 0.1 for s, v in a.items()}
    low, high, n = clips.paired_bootstrap(shifted, a)
    assert (low, high, n) == (pytest.approx(0.1), pytest.approx(0.1), 5)
    noisy = {s: v + 0.1 + 0.05 * rng.standard_normal() for s, v in a.items()}  # seeds differ: a real interval
    low, high, _ = clips.paired_bootstrap(noisy, a)
    assert low < 0.1 < high
    assert all(math.isnan(x) for x in clips.paired_bootstrap({0: a[0]}, {0: a[0]})[:2])


def test_a_real_runs_saved_model_reproduces_its_stored_test_metrics(smoke_report, monkeypatch):
    from lib.data import load_split
    from lib.store.runs import Run

    _, base = smoke_report
    path = next(p.parent for p in (base / "runs").glob("shared-fixed-both-*/MANIFEST.json"))
    run = Run(path)
    test = load_split(json.loads((path / "metrics.json").read_text())["data"], "test", run.config.imgsz)
    o = clips.outcomes(run, test)
    assert clips.view_accuracy(o) == pytest.approx(run.metrics["test_view_accuracy"])
    assert clips.map50(o) == pytest.approx(run.metrics["test_mAP50"], abs=1e-6)


def test_calibration_error_known_answers():
    o = toy(frames=4, per_clip=1)
    o.view_true[:] = [0, 0, 1, 1]
    o.view_prob[:] = [[0.9, 0.05, 0.05], [0.9, 0.05, 0.05], [0.05, 0.9, 0.05], [0.05, 0.9, 0.05]]
    assert clips.calibration_error(o) == pytest.approx(0.1)  # always right at confidence 0.9: gap 0.1
    o.view_true[:] = [0, 1, 1, 0]  # half right at 0.9: gap 0.4
    assert clips.calibration_error(o) == pytest.approx(0.4)


def test_the_worst_frames_are_those_with_the_most_misses_false_boxes_and_wrong_views():
    o = toy(frames=4, per_clip=1, nc=1)
    o.gt[:] = [[2], [0], [1], [0]]
    o.view_true[:] = [0, 0, 0, 0]
    o.view_prob[:] = [[1, 0, 0], [0, 1, 0], [1, 0, 0], [1, 0, 0]]  # frame 1's view is wrong
    o.det_frame, o.det_cls = np.array([0, 2, 3, 3]), np.zeros(4, int)
    o.det_conf, o.det_tp = np.array([0.9, 0.9, 0.9, 0.1]), np.array([True, True, False, False])
    # errors: frame 0 one box missed; 1 wrong view; 2 none; 3 one false box (the 0.1 one is below conf)
    assert clips.worst_frames(o, 3) == [0, 1, 3]

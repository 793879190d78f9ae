"""Test frames come in clips: the clinician's read per clip, and intervals that resample clips as well as seeds.

Frames named ``<patient>-<clip>.mp4-<frame>.png`` share a clip (``lib.evaluate.clips``, which predict and val
use too); a frame whose name carries none is a clip of its own. ``outcomes(run, dataset)`` runs the run's saved model
over the split again, with the NMS of its evaluation (YOLOv5 val's: conf 0.001, IoU 0.6), and keeps per
frame the true view and the view probabilities, and per detection its frame, confidence, class and TP flag at
IoU 0.5 (COCO's greedy matching, ``lib.evaluate.match_image``). From these:

* ``clip_view_accuracy``: one view per clip from the mean probability over its frames, as a clinician reads a
  clip; the share of clips read right.
* ``replicates``: a run's mAP50 and view accuracy on ``B`` resamples of the clips with replacement (a frame
  counts as often as its clip is drawn; AP is COCO's 101-point AP, ``lib.evaluate.coco_ap``, on the weighted
  detections). Every run of a report uses the same resamples (``clip_draws`` from one seed over the split's
  clips), so two rows are compared on the same clips.
* ``paired_bootstrap``: the two-level paired bootstrap of a difference between two rows: each replicate draws
  seeds with replacement and one clip resample, and averages the per-seed differences (Davison & Hinkley 1997,
  sec. 3.8, resampling both stages of a two-stage sample). Its percentile interval covers the clips as well as
  the seeds, where the t interval over seeds treats the test frames as fixed.
"""
from __future__ import annotations

import math
import warnings
from dataclasses import dataclass

import numpy as np
import pandas as pd
import torch

from ..data import make_loader
from ..evaluate import coco_ap, eval_mode, match_image, non_max_suppression, targets_to_xyxy
from ..evaluate.clips import clip_ids
from ..evaluate.clips import clip_view_accuracy as _clip_view_accuracy

REC = np.linspace(0.0, 1.0, 101)


@dataclass
class Outcomes:
    """One run on one split, per frame and per detection (see module docstring); arrays are NumPy."""
    clips: np.ndarray          # (frames,) clip id of each frame
    view_true: np.ndarray      # (frames,) true view index
    view_prob: np.ndarray | None   # (frames, views) softmax probabilities; None without a view head
    det_frame: np.ndarray      # (detections,) frame index
    det_conf: np.ndarray       # (detections,)
    det_cls: np.ndarray        # (detections,)
    det_tp: np.ndarray         # (detections,) bool, TP at IoU 0.5
    gt: np.ndarray | None      # (frames, classes) ground-truth boxes per frame; None without a detection head


def outcomes(run, dataset, batch_size: int = 32) -> Outcomes:
    """The run's saved model (``Run.load_model``) over ``dataset`` (an ``EchoDataset``, in order)."""
    model = run.load_model()
    nc, n = len(dataset.names), len(dataset)
    probs, frames, confs, classes, tps = [], [], [], [], []
    gt = np.zeros((n, nc), dtype=np.int64)
    with eval_mode(model):
        for batch in make_loader(dataset, batch_size, shuffle=False):
            images = batch.images.float()
            detections, logits = model(images)
            if logits is not None:
                probs.append(logits.softmax(1).numpy())
            if detections is None:
                continue
            decoded = detections[0] if isinstance(detections, tuple) else detections
            preds = non_max_suppression(decoded, 0.001, 0.6)
            gts = targets_to_xyxy(batch.targets, images.shape[0], images.shape[-1])
            for i, index in enumerate(batch.indices.tolist()):
                pred, g = preds[i].cpu(), gts[i]
                gt[index] = np.bincount(g[:, 0].long().numpy(), minlength=nc)
                frames.append(np.full(len(pred), index))
                confs.append(pred[:, 4].numpy())
                classes.append(pred[:, 5].long().numpy())
                tps.append(match_image(pred, g, 0.5).numpy())
    cat = (lambda xs, dt: np.concatenate(xs) if xs else np.zeros(0, dt))
    has_det = run.config.task != "view"
    return Outcomes(clip_ids(dataset.paths), dataset.views.numpy(), np.concatenate(probs) if probs else None,
                    cat(frames, np.int64), cat(confs, np.float64), cat(classes, np.int64), cat(tps, bool),
                    gt if has_det else None)


def view_accuracy(o: Outcomes) -> float:
    """Frame-level view accuracy on the whole split."""
    return math.nan if o.view_prob is None else float((o.view_prob.argmax(1) == o.view_true).mean())


def clip_view_accuracy(o: Outcomes) -> tuple[float, int]:
    """(share of clips whose mean view probability over their frames picks the true view, clips). A clip
    whose frames disagree on the true view counts by its most frequent one."""
    return _clip_view_accuracy(o.clips, o.view_prob, o.view_true)


def map50(o: Outcomes) -> float:
    """Mean over classes with ground truth of COCO's AP50 on the whole split (``coco_ap``)."""
    if o.gt is None:
        return math.nan
    aps = [coco_ap(torch.from_numpy(o.det_conf[o.det_cls == c]), torch.from_numpy(o.det_tp[o.det_cls == c]),
                   int(o.gt[:, c].sum())) for c in range(o.gt.shape[1]) if o.gt[:, c].sum() > 0]
    return float(np.mean(aps)) if aps else math.nan


def calibration_error(o: Outcomes, bins: int = 10) -> float:
    """Expected calibration error of the view head: over equal-width bins of the top probability, the
    frame-weighted mean |accuracy - mean confidence| (Guo et al., ICML 2017). NaN without a view head."""
    if o.view_prob is None:
        return math.nan
    conf, right = o.view_prob.max(1), (o.view_prob.argmax(1) == o.view_true)
    which = np.minimum((conf * bins).astype(int), bins - 1)
    gaps = [abs(right[which == b].mean() - conf[which == b].mean()) * (which == b).mean()
            for b in range(bins) if (which == b).any()]
    return float(np.sum(gaps))


def clip_draws(clips: np.ndarray, n: int = 1000, seed: int = 0) -> np.ndarray:
    """(n, frames) frame weights: how often each frame's clip is drawn in each of ``n`` resamples of the
    split's clips with replacement."""
    names, index = np.unique(clips, return_inverse=True)
    draws = np.random.default_rng(seed).integers(0, len(names), size=(n, len(names)))
    counts = np.stack([np.bincount(d, minlength=len(names)) for d in draws])
    return counts[:, index].astype(np.float64)


def replicates(o: Outcomes, draws: np.ndarray, classes: list[int] | None = None,
               chunk: int = 100) -> dict[str, np.ndarray]:
    """A run's metrics on every resample of ``draws`` (``clip_draws``): ``mAP50`` (over the classes with ground
    truth in the resample, or over ``classes`` only) and ``view_accuracy``; NaN arrays without the head."""
    n = len(draws)
    out = {"mAP50": np.full(n, math.nan), "view_accuracy": np.full(n, math.nan)}
    if o.view_prob is not None:
        right = (o.view_prob.argmax(1) == o.view_true).astype(np.float64)
        out["view_accuracy"] = draws @ right / draws.sum(1)
    if o.gt is not None:
        wanted = range(o.gt.shape[1]) if classes is None else classes
        aps = np.stack([_class_ap_replicates(o, c, draws, chunk) for c in wanted] or [out["mAP50"]])
        with warnings.catch_warnings():
            warnings.simplefilter("ignore", RuntimeWarning)  # a resample without any box: NaN, said by the value
            out["mAP50"] = np.nanmean(aps, 0)
    return out


def _class_ap_replicates(o: Outcomes, c: int, draws: np.ndarray, chunk: int) -> np.ndarray:
    """AP50 of class ``c`` on every resample (NaN where the resample holds no box of it); detections sorted
    once, each resample weighting them by how often their frame was drawn."""
    n_gt = draws @ o.gt[:, c].astype(np.float64)
    at = o.det_cls == c
    order = np.argsort(-o.det_conf[at], kind="stable")
    tp, frame = o.det_tp[at][order], o.det_frame[at][order]
    ap = np.where(n_gt > 0, 0.0, math.nan)
    if not len(tp):
        return ap
    for start in range(0, len(draws), chunk):
        w = draws[start:start + chunk][:, frame]
        n_tp, n_fp = np.cumsum(w * tp, 1), np.cumsum(w * ~tp, 1)
        with np.errstate(all="ignore"):
            precision = np.where(n_tp + n_fp > 0, n_tp / (n_tp + n_fp), 0.0)
        precision = np.maximum.accumulate(precision[:, ::-1], 1)[:, ::-1]
        for k, row in enumerate(range(start, min(start + chunk, len(draws)))):
            if n_gt[row] > 0:
                idx = np.searchsorted(n_tp[k] / n_gt[row], REC, side="left")
                ap[row] = np.where(idx < tp.size, precision[k, np.minimum(idx, tp.size - 1)], 0.0).mean()
    return ap


def paired_bootstrap(a: dict[int, np.ndarray], b: dict[int, np.ndarray], level: float = 0.95,
                     seed: int = 0) -> tuple[float, float, int]:
    """(low, high, n) of the percentile interval of mean(a - b) over seeds, resampling seeds and clips.

    ``a``, ``b``: seed -> one metric's replicates of that row (``replicates``, the same ``clip_draws``); only
    seeds both rows have count. NaN bounds with fewer than two common seeds."""
    seeds = sorted(set(a) & set(b))
    if len(seeds) < 2:
        return math.nan, math.nan, len(seeds)
    diff = np.stack([a[s] - b[s] for s in seeds])  # (seeds, replicates)
    rng = np.random.default_rng(seed)
    pick = rng.integers(0, len(seeds), size=(diff.shape[1], len(seeds)))
    means = np.nanmean(np.take_along_axis(diff.T, pick, axis=1), axis=1)
    low, high = np.nanpercentile(means, [50 * (1 - level), 50 * (1 + level)])
    return float(low), float(high), len(seeds)


def for_verdicts(runs: dict, dataset, n: int = 1000, detectable: list[str] | None = None,
                 seed: int = 0) -> tuple[dict, pd.DataFrame]:
    """(replicates, reading) for a report's runs on ``dataset`` (its test split): ``replicates`` maps (row, seed)
    to ``replicates`` on one shared set of ``n`` clip resamples, with ``mAP50 (detectable)`` over
    ``detectable`` class names when given (``per_class``); ``reading`` gives per row, over seeds, the mean
    frame and clip view accuracy, the view head's calibration error (``calibration_error``) and the number
    of clips."""
    from .per_class import DETECTABLE_METRIC

    draws = clip_draws(clip_ids(dataset.paths), n, seed)
    wanted = None if detectable is None else [list(dataset.names).index(c) for c in detectable]
    reps, rows = {}, []
    for (m, s), r in runs.items():
        o = outcomes(r, dataset)
        reps[(m, s)] = replicates(o, draws)
        if wanted is not None:
            reps[(m, s)][DETECTABLE_METRIC] = replicates(o, draws, wanted)["mAP50"]
        clip_acc, n_clips = clip_view_accuracy(o)
        rows.append({"method": m, "seed": s, "frame view accuracy": view_accuracy(o),
                     "clip view accuracy": clip_acc, "view calibration error": calibration_error(o), "clips": n_clips})
    reading = pd.DataFrame(rows).groupby("method", sort=False)[
        ["frame view accuracy", "clip view accuracy", "view calibration error", "clips"]].mean()
    return reps, reading.astype({"clips": int})


def worst_frames(o: Outcomes, k: int, conf: float = 0.25) -> list[int]:
    """The ``k`` frames with the most errors at confidence >= ``conf``: ground-truth boxes missed, false
    detections, and a wrong view (one error), most first (ties in frame order)."""
    n = len(o.clips)
    kept = o.det_conf >= conf
    tp = np.bincount(o.det_frame[kept & o.det_tp], minlength=n)
    fp = np.bincount(o.det_frame[kept & ~o.det_tp], minlength=n)
    missed = o.gt.sum(1) - tp if o.gt is not None else np.zeros(n, int)
    wrong = (o.view_prob.argmax(1) != o.view_true).astype(int) if o.view_prob is not None else np.zeros(n, int)
    return [int(i) for i in np.argsort(-(missed + fp + wrong), kind="stable")[:k]]

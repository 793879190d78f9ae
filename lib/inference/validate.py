"""A model file scored on a split of any data set, as training scores its own (YOLOv5's ``val.py``).

The split is read by the training's loader (``lib.data.load_split``: letterboxed to the model's size, labels
checked) and scored by the training's evaluation (``lib.evaluate.evaluate``: YOLOv5 val's NMS at conf 0.001
and IoU 0.6, COCO's mAP, P/R/F1 at the best-F1 confidence, view accuracy and macro F1), so the run's own
validation split gives the run's own validation figures. Training recalibrates BatchNorm before it evaluates
and saves those statistics with the model, so nothing is recalibrated here: the file is scored as it is.

Where the split's frame names carry clip ids (``<patient>-<clip>.mp4-<frame>``, ``lib.evaluate.clips``),
the clip-level view accuracy is added: one view per clip from the mean probability over its frames.
"""
from __future__ import annotations

import math
from dataclasses import dataclass
from pathlib import Path

import numpy as np
import torch

from ..data import DataError, load_split, make_loader, read_data_yaml, resolve_data
from ..engine.seeding import resolve_device
from ..evaluate import EvalResult, evaluate
from ..evaluate.clips import clip_ids, clip_of, clip_view_accuracy
from ..config import imgsz_problem
from ..store.model_file import ModelFile


@dataclass
class Validation:
    """The evaluation (``EvalResult``), and the clip-level view accuracy over ``clips`` clips (NaN and 0 where
    no frame name carries a clip id, or the model has no view head)."""

    result: EvalResult
    clip_view_accuracy: float
    clips: int
    data: Path
    split: str


def _check_names(model_file: ModelFile, spec, data: Path) -> None:
    for what, ours, theirs in (("names", model_file.names, spec.names),
                               ("view_names", model_file.view_names, spec.view_names)):
        if list(ours) != list(theirs):
            kind = "class" if what == "names" else "view"
            raise DataError(f"{data}: {what} {list(theirs)} are not the model's {list(ours)}: a {kind} index would "
                            f"mean another {kind}; give a data.yaml with the model's {what} in its order")


def validate(model_file: ModelFile, data: str | Path, split: str = "val", imgsz: int | None = None,
             batch_size: int = 32, device: str = "auto", on_bad_label: str = "error", conf: float = 0.001,
             iou: float = 0.6) -> Validation:
    """Score ``model_file`` on ``split`` of the data.yaml ``data`` at ``imgsz`` (default: the model's size).

    Raises ``FileNotFoundError`` (no data.yaml), ``DataError`` (a bad data.yaml, a missing split, class or view
    names other than the model's), ``LabelError`` (a bad label or image, with ``on_bad_label="error"``)."""
    data = resolve_data(str(data))
    spec = read_data_yaml(data)
    _check_names(model_file, spec, data)
    if split not in spec.splits:
        raise DataError(f"{data}: no split '{split}' (have {', '.join(spec.splits)})")
    imgsz = imgsz or model_file.imgsz
    if imgsz_problem(imgsz):
        raise ValueError("--" + imgsz_problem(imgsz))
    dataset = load_split(data, split, imgsz, on_bad_label, cache="auto")  # frames on disk past 1 GiB
    dev = resolve_device(device)
    model = model_file.model.to(dev)
    probs: list[torch.Tensor] = []  # the view head's probabilities, batch by batch, in dataset order

    def keep_probs(module, inputs, outputs):
        if outputs[1] is not None:
            probs.append(outputs[1].float().softmax(1).cpu())

    hook = model.register_forward_hook(keep_probs)
    try:
        result = evaluate(model, make_loader(dataset, batch_size, shuffle=False), dev, conf_thres=conf,
                          iou_thres=iou, imgsz=imgsz)
    finally:
        hook.remove()
    accuracy, clips = math.nan, 0
    if probs and any(clip_of(p) for p in dataset.paths):
        accuracy, clips = clip_view_accuracy(clip_ids(dataset.paths), torch.cat(probs).numpy(),
                                             dataset.views.numpy().astype(np.int64))
    return Validation(result, accuracy, clips, Path(data), split)

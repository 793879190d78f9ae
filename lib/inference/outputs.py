"""What ``python -m lib.predict`` writes into its output folder.

    labels/<stem>.txt        with a detection head: one line per box, YOLOv5's ``--save-txt --save-conf``:
                             ``class cx cy w h conf``, normalised to the original frame (``%g``); empty when
                             nothing was found. A video's frames: ``labels/<video stem>_<frame>.txt``. Two
                             sources with one file stem (``a/f.png``, ``b/f.png``; ``f.png``, ``f.jpg``) get
                             ``f`` and ``f_2`` in the order read, never one file for both (YOLOv5 overwrites); so does an image
                             whose stem is a video frame's name (``clip_3.png`` beside ``clip.mp4``)
    predictions.csv          one row per frame: source, frame (0 for an image), stem (its output files' name),
                             clip, view (the predicted view's name), prob_<view> (softmax probability of each
                             view; with a view head), boxes (how many)
    boxes.csv                one row per box: source, frame, class_id, class, conf, x1, y1, x2, y2 (original pixels)
    clips.csv                for frames with a clip (a video's frames; upstream names ``<patient>-<clip>.mp4-<n>``):
                             one row per clip, clip, frames, view from the mean probability, prob_<view>
                             (``lib.evaluate.clips``); not written without a view head or a clip
    unreadable.csv           source, frame, error: the frames that could not be decoded, if any
    overlays/<stem>.png      with ``--save-overlays``: boxes (``torchvision.utils.draw_bounding_boxes``) and the
    overlays/<stem>.mp4      view drawn on each image; for a video, one annotated video

Every file is written under a temporary name and renamed into place (``lib.store.atomic``, ``video``): a
reader never sees half of one. The CSVs are written last, by ``close``, and synced to disk; the per-frame label
and overlay files are not (an fsync each cost as much as predicting the frame at 128 px).
"""
from __future__ import annotations

import io
from pathlib import Path

import numpy as np
import pandas as pd
import torch
from PIL import Image, ImageDraw
from torchvision.ops import box_convert
from torchvision.utils import draw_bounding_boxes

from ..evaluate.clips import clip_views
from ..store.atomic import write_bytes, write_text
from .predictor import Prediction
from .sources import Frame
from .video import VideoWriter, frame_rate

PALETTE = ("#FF3838", "#2C99A8", "#FF9D97", "#3DDB86", "#FF701F", "#344593", "#FFB21D", "#CB38FF")  # YOLOv5's


def label_lines(boxes: torch.Tensor, frame_wh: tuple[int, int]) -> str:
    """(n, 6) ``[x1, y1, x2, y2, conf, cls]`` in pixels -> YOLOv5 ``--save-txt --save-conf`` text."""
    w, h = frame_wh
    xywh = box_convert(boxes[:, :4].double(), "xyxy", "cxcywh") / torch.tensor([w, h, w, h], dtype=torch.float64)
    rows = [(float(c), *xywh[i].tolist(), float(conf)) for i, (conf, c) in enumerate(boxes[:, 4:6].tolist())]
    return "".join(("%g " * len(r)).rstrip() % r + "\n" for r in rows)


def _caption(draw: ImageDraw.ImageDraw, xy: tuple[float, float], text: str, colour: str) -> None:
    """White text on a filled ``colour`` box whose top left is ``xy``: readable over the colour jets."""
    box = draw.textbbox(xy, text)
    draw.rectangle((box[0] - 1, box[1] - 1, box[2] + 1, box[3] + 1), fill=colour)
    draw.text(xy, text, fill="white")


def overlay(rgb: np.ndarray, pred: Prediction, names, view_names) -> np.ndarray:
    """The frame with its boxes (``draw_bounding_boxes``), each captioned with class and conf, and, top left,
    its view and probability."""
    image = torch.from_numpy(np.array(rgb, dtype=np.uint8)).permute(2, 0, 1)  # a writable copy
    b = pred.boxes
    cls = b[:, 5].long().tolist()
    if len(b):
        image = draw_bounding_boxes(image, b[:, :4], colors=[PALETTE[c % len(PALETTE)] for c in cls], width=2)
    out = Image.fromarray(image.permute(1, 2, 0).numpy())
    draw = ImageDraw.Draw(out)
    for i in b[:, 4].argsort().tolist():  # the most confident caption drawn last, on top of the others
        x1, y1, conf, c = float(b[i, 0]), float(b[i, 1]), float(b[i, 4]), cls[i]
        _caption(draw, (x1 + 2, max(y1 - 12, 1)), f"{names[c]} {conf:.2f}", PALETTE[c % len(PALETTE)])
    if pred.view_prob is not None:
        k = int(pred.view_prob.argmax())
        _caption(draw, (2, 1), f"{view_names[k]} {float(pred.view_prob[k]):.2f}", "#404040")
    return np.asarray(out)


class PredictionWriter:
    """Collects one prediction run's outputs under ``out`` (see the module docstring)."""

    def __init__(self, out: Path, names, view_names, tasks, save_overlays: bool = False):
        self.out = Path(out)
        self.names, self.view_names, self.tasks = list(names), list(view_names), tuple(tasks)
        self.save_overlays = save_overlays
        self.frames: list[dict] = []
        self.boxes: list[dict] = []
        self.failed: list[dict] = []
        self.probs: list[np.ndarray] = []
        self._video: tuple[Path, VideoWriter] | None = None
        self._stems: dict[Path, str] = {}  # source -> its output name
        self._taken: set[str] = set()       # every output name given so far: sources' and video frames'

    def _claim(self, name: str) -> str:
        """``name``, or ``<name>_2``, ``_3``, ... when an earlier source or video frame took it."""
        out, n = name, 1
        while out in self._taken:
            n += 1
            out = f"{name}_{n}"
        self._taken.add(out)
        return out

    def stem_of(self, source: Path) -> str:
        """``source``'s output name: its file stem, unless another output already has that name."""
        if source not in self._stems:
            self._stems[source] = self._claim(source.stem)
        return self._stems[source]

    def add(self, frame: Frame, pred: Prediction) -> None:
        h, w = frame.rgb.shape[:2]
        base = self.stem_of(frame.source)
        stem = self._claim(f"{base}_{frame.index}") if frame.is_video else base
        if "det" in self.tasks:
            write_text(self.out / "labels" / f"{stem}.txt", label_lines(pred.boxes, (w, h)), durable=False)
        row = {"source": str(frame.source), "frame": frame.index, "stem": stem, "clip": frame.clip}
        if pred.view_prob is not None:
            prob = pred.view_prob.numpy().astype(np.float64)
            self.probs.append(prob)
            row["view"] = self.view_names[int(prob.argmax())]
            row.update({f"prob_{v}": p for v, p in zip(self.view_names, prob)})
        row["boxes"] = len(pred.boxes)
        self.frames.append(row)
        for x1, y1, x2, y2, conf, c in pred.boxes.tolist():
            self.boxes.append({"source": str(frame.source), "frame": frame.index, "class_id": int(c),
                               "class": self.names[int(c)], "conf": conf, "x1": x1, "y1": y1, "x2": x2, "y2": y2})
        if self.save_overlays:
            self._overlay(frame, overlay(frame.rgb, pred, self.names, self.view_names))

    def unreadable(self, frame: Frame) -> None:
        self.failed.append({"source": str(frame.source), "frame": frame.index, "error": frame.error})

    def _overlay(self, frame: Frame, image: np.ndarray) -> None:
        if not frame.is_video:
            self._end_video()
            write_bytes(self.out / "overlays" / f"{self.stem_of(frame.source)}.png", _png(image), durable=False)
            return
        if self._video is None or self._video[0] != frame.source:
            self._end_video()
            writer = VideoWriter(self.out / "overlays" / f"{self.stem_of(frame.source)}.mp4", frame_rate(frame.source))
            self._video = (frame.source, writer)
        self._video[1].write(image)

    def _end_video(self) -> None:
        if self._video is not None:
            self._video[1].close()
            self._video = None

    def close(self) -> dict:
        """Finish the annotated video and write the CSVs; returns the counts (frames, boxes, clips, unreadable)."""
        self._end_video()
        frames = pd.DataFrame(self.frames, columns=self._frame_columns())
        write_text(self.out / "predictions.csv", frames.to_csv(index=False))
        boxes = pd.DataFrame(self.boxes, columns=["source", "frame", "class_id", "class", "conf", "x1", "y1", "x2",
                                                  "y2"])
        write_text(self.out / "boxes.csv", boxes.to_csv(index=False))
        clipped = frames["clip"].notna().to_numpy()
        n_clips = 0
        if self.probs and clipped.any():
            table = clip_views(frames["clip"][clipped].to_numpy(), np.stack(self.probs)[clipped], self.view_names)
            write_text(self.out / "clips.csv", table.to_csv(index=False))
            n_clips = len(table)
        if self.failed:
            write_text(self.out / "unreadable.csv", pd.DataFrame(self.failed).to_csv(index=False))
        return {"frames": len(frames), "boxes": len(boxes), "clips": n_clips, "unreadable": len(self.failed)}

    def _frame_columns(self) -> list[str]:
        view = ["view", *(f"prob_{v}" for v in self.view_names)] if "view" in self.tasks else []
        return ["source", "frame", "stem", "clip", *view, "boxes"]


def _png(image: np.ndarray) -> bytes:
    buf = io.BytesIO()
    Image.fromarray(image).save(buf, format="PNG")
    return buf.getvalue()

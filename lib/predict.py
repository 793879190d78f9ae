"""python -m lib.predict: a trained model on images, folders, globs and videos; no labels needed.

    python -m lib.predict --weights runs/<run> --source frames/            # every image and video in it
    python -m lib.predict --weights model.pt --source clip.mp4 --save-overlays
    python -m lib.predict --weights model.pt --source "data/**/*.png" --conf 0.001 --out preds/

``--weights`` is a run folder or its ``model.pt`` (``lib.store.model_file``: the file alone rebuilds the
model). Frames are letterboxed as in training and boxes mapped back to each frame's own pixels
(``lib.inference.predictor``). The output folder (``--out``; default ``predictions/<source name>`` in the
working directory, numbered when taken; printed absolute) gets YOLOv5's ``labels/*.txt`` and ``predictions.csv``, ``boxes.csv``, ``clips.csv``
(``lib.inference.outputs``). Progress goes to stderr; the last stdout line is one JSON object: frames, boxes,
clips, unreadable frames, seconds, frames per second and the output folder.

Bad input is one line on stderr and exit 2: a ``--source`` that does not exist or holds no image or video, a
model file that is missing or from another version. An unreadable frame (an undecodable image or video) does
not stop the others: they are predicted and written, the bad ones listed in ``unreadable.csv``, and the
command still ends with one line naming them and exit 2.
"""
from __future__ import annotations

import argparse
import json
import sys
import time
from pathlib import Path

from .cli import OneLineParser, positive_int
from .inference import Predictor, SourceError, frames, list_sources
from .inference.outputs import PredictionWriter
from .store.model_file import ModelFileError, load_model_file


def _unit(text: str) -> float:
    try:
        value = float(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"{text!r} is not a number") from None
    if not 0 <= value <= 1:
        raise argparse.ArgumentTypeError(f"{text} is outside [0, 1]")
    return value


def build_parser() -> argparse.ArgumentParser:
    p = OneLineParser(prog="python -m lib.predict", description=__doc__.split("\n\n")[0],
                      formatter_class=argparse.ArgumentDefaultsHelpFormatter)
    p.add_argument("--weights", required=True, help="a run folder or its model.pt")
    p.add_argument("--source", required=True, help="an image, a folder, a glob (quote it) or a video")
    p.add_argument("--conf", type=_unit, default=0.25, help="confidence threshold (YOLOv5 detect's 0.25)")
    p.add_argument("--iou", type=_unit, default=0.45, help="NMS IoU threshold (YOLOv5 detect's 0.45)")
    p.add_argument("--max-det", type=positive_int, default=100, help="boxes kept per frame")
    p.add_argument("--imgsz", type=positive_int, default=None, help="letterboxed input side; default: the model's training size")
    p.add_argument("--device", default="auto", help="auto (CUDA when present), cpu, cuda or cuda:N")
    p.add_argument("--batch-size", type=positive_int, default=8, help="frames per forward pass")
    p.add_argument("--out", default=None, help="output folder; default predictions/<source name> (numbered if taken)")
    p.add_argument("--save-overlays", action="store_true",
                   help="draw boxes and the view on each frame (overlays/), an annotated video for a video source")
    return p


def default_out(source: str) -> Path:
    """``predictions/<source name>``, or ``...2``, ``...3`` when that folder exists (YOLOv5's ``increment_path``)."""
    name = Path(source.split("*")[0].rstrip("/") or "glob").name or "source"
    base = Path("predictions") / Path(name).stem
    out, n = base, 1
    while out.exists():
        n += 1
        out = base.with_name(f"{base.name}{n}")
    return out


def _one_line(text: str) -> str:
    return " ".join(str(text).split())


def main(argv: list[str] | None = None) -> int:
    args = build_parser().parse_args(argv)
    try:
        paths = list_sources(args.source)
        model_file = load_model_file(args.weights)
        predictor = Predictor(model_file, args.imgsz, args.conf, args.iou, args.max_det, args.device)
    except (SourceError, ModelFileError, ValueError) as e:  # ValueError: --imgsz, --device
        print(f"error: {_one_line(e)}", file=sys.stderr)
        return 2
    out = (Path(args.out) if args.out else default_out(args.source)).resolve()
    writer = PredictionWriter(out, model_file.names, model_file.view_names, model_file.tasks, args.save_overlays)
    start, batch, failed = time.perf_counter(), [], []

    def flush() -> None:
        for frame, pred in zip(batch, predictor([f.rgb for f in batch])):
            writer.add(frame, pred)
        batch.clear()

    for frame in frames(paths):
        if frame.error is not None:
            flush()  # keeps an annotated video's frames in order
            writer.unreadable(frame)
            failed.append(frame)
            continue
        batch.append(frame)
        if len(batch) >= args.batch_size:
            flush()
    flush()
    if not writer.frames:
        print(f"error: no frame could be read: {_one_line(failed[0].error)}"
              + (f" (and {len(failed) - 1} more)" if len(failed) > 1 else ""), file=sys.stderr)
        return 2
    summary = writer.close()
    seconds = time.perf_counter() - start
    summary.update(seconds=round(seconds, 3), frames_per_second=round(summary["frames"] / seconds, 2), out=str(out))
    print(f"predicted {summary['frames']} frames ({summary['boxes']} boxes, {summary['clips']} clips) in "
          f"{seconds:.1f} s on {predictor.device}: {out}", file=sys.stderr)
    print(json.dumps(summary))
    if failed:
        print(f"error: {len(failed)} unreadable (listed in {out / 'unreadable.csv'}), the other {summary['frames']} "
              f"frames predicted; first: {_one_line(failed[0].error)}", file=sys.stderr)
        return 2
    return 0


if __name__ == "__main__":
    sys.exit(main())

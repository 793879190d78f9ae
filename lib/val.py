"""python -m lib.val: a trained model scored on a split of any data set, as YOLOv5's ``val.py``.

    python -m lib.val --weights runs/<run> --data other_hospital/data.yaml
    python -m lib.val --weights model.pt --data data.yaml --split test

``--weights`` is a run folder or its ``model.pt``; ``--data`` a data.yaml with the model's class and view
names (``lib.inference.validate``: the training's loader and evaluation, so the run's own validation split
reproduces the run's validation figures). A per-class table goes to stderr; the last stdout line is one JSON
object with the metrics training prints (``mAP50``, ``mAP50_95``, ``precision``, ``recall``, ``f1``,
``view_accuracy``, ``view_macro_f1``; strict JSON, an undefined one is ``null``), the per-class ``AP50`` and
``AP50_95``, the clip-level view accuracy and number of clips where frame names carry clip ids, the number of
images and parameters, and what was scored. Bad input (a missing or broken data.yaml or model file, a bad
label, other class names) is one line on stderr and exit 2.
"""
from __future__ import annotations

import argparse
import json
import math
import sys
import warnings

from .cli import OneLineParser, positive_int, _print_warning
from .data import DataError, LabelError
from .engine.history import EVAL_METRICS
from .inference.validate import Validation, validate
from .models import count_parameters
from .store.model_file import ModelFileError, load_model_file


def build_parser() -> argparse.ArgumentParser:
    p = OneLineParser(prog="python -m lib.val", description=__doc__.split("\n\n")[0],
                      formatter_class=argparse.ArgumentDefaultsHelpFormatter)
    p.add_argument("--weights", required=True, help="a run folder or its model.pt")
    p.add_argument("--data", required=True, help="a data.yaml (any layout lib.data reads)")
    p.add_argument("--split", default="val", help="the split to score: val, test, or any split the yaml names")
    p.add_argument("--imgsz", type=positive_int, default=None, help="letterboxed input side; default: the model's training size")
    p.add_argument("--batch-size", type=positive_int, default=32, help="images per forward pass")
    p.add_argument("--device", default="auto", help="auto (CUDA when present), cpu, cuda or cuda:N")
    p.add_argument("--on-bad-label", choices=("error", "skip"), default="error",
                   help="a bad image or label file: stop naming it, or leave it out with a summary")
    return p


def _strict(v):
    return None if isinstance(v, float) and not math.isfinite(v) else v


def summary(v: Validation, parameters: int, weights: str) -> dict:
    """The JSON line: the training's metric names first, then per-class AP, clips, and what was scored."""
    out = {k: _strict(x) for k, x in v.result.metrics().items() if k in EVAL_METRICS}
    det = v.result.detection
    for col in ("AP50", "AP50_95"):
        out[col] = {c: _strict(float(x)) for c, x in det.per_class[col].items()} if det is not None else {}
    out.update(clip_view_accuracy=_strict(v.clip_view_accuracy), clips=v.clips, images=v.result.n_images,
               parameters=parameters, split=v.split, data=str(v.data), weights=weights)
    return out


def table(v: Validation) -> str:
    """YOLOv5 val's printout: one row for all classes, one per class; then the view and clip figures."""
    m, det = v.result.metrics(), v.result.detection
    lines = [f"{'Class':>12} {'Images':>8} {'Instances':>10} {'P':>8} {'R':>8} {'mAP50':>8} {'mAP50-95':>9}"]
    if det is not None:
        pc = det.per_class
        lines.append(f"{'all':>12} {v.result.n_images:>8} {int(pc['n_gt'].sum()):>10} {m['precision']:>8.3f} "
                     f"{m['recall']:>8.3f} {m['mAP50']:>8.3f} {m['mAP50_95']:>9.3f}")
        for name, row in pc.iterrows():
            lines.append(f"{name:>12} {v.result.n_images:>8} {int(row['n_gt']):>10} {row['precision']:>8.3f} "
                         f"{row['recall']:>8.3f} {row['AP50']:>8.3f} {row['AP50_95']:>9.3f}")
    view = f"view accuracy {m['view_accuracy']:.3f}, macro F1 {m['view_macro_f1']:.3f}"
    if v.clips:
        view += f"; clip view accuracy {v.clip_view_accuracy:.3f} over {v.clips} clips"
    return "\n".join(lines + [view])


def main(argv: list[str] | None = None) -> int:
    args = build_parser().parse_args(argv)
    try:
        with warnings.catch_warnings():
            warnings.showwarning = _print_warning
            model_file = load_model_file(args.weights)
            result = validate(model_file, args.data, args.split, args.imgsz, args.batch_size, args.device,
                              args.on_bad_label)
    except LabelError as e:
        hint = "" if args.on_bad_label == "skip" else " (--on-bad-label skip leaves bad files out, with a summary)"
        print(f"error: {e}{hint}", file=sys.stderr)
        return 2
    except (ModelFileError, DataError, FileNotFoundError, ValueError) as e:
        print(f"error: {e}", file=sys.stderr)
        return 2
    print(f"{model_file.path} on {result.data} ({result.split}):\n{table(result)}", file=sys.stderr)
    print(json.dumps(summary(result, count_parameters(model_file.model), str(model_file.path)), allow_nan=False))
    return 0


if __name__ == "__main__":
    sys.exit(main())

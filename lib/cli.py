"""python -m lib.train: train one configuration through the run store and print its figures.

Every ``TrainConfig`` field is a flag, generated from the dataclass (name,
type, default, help and choices), so the command line cannot drift from the
configuration (``--weights PATH``: pretrained weights, ``lib.weights``). Conveniences on top: ``--task-weights``
(the task loss weights of ``fixed``, or GradNorm's initial ones), ``--alpha`` and ``--option KEY=VALUE`` (one
weighting option; VALUE is JSON, or a plain string). A bad value or option
prints one line naming it and what is accepted, exits 2, and creates nothing.

Under ``torchrun --nproc_per_node N -m lib.train ...`` the N processes train one run together
(``lib.engine.distributed``; ``--batch-size`` stays the global batch); rank 0 alone prints and writes.

Progress goes to stderr (not with ``--no-progress``), after a line naming the run folder whose ``results.csv``
(and TensorBoard files, with ``tensorboard`` installed) grow after every epoch (``lib.engine.logs``). The last
stdout line is one JSON object with the final metrics on the ``val`` split, the parameter count, the training
time and the run folder.
It is strict JSON: an undefined metric (NaN: the task is not trained, or the split has no
ground-truth object) is ``null``.
"""
from __future__ import annotations

import argparse
import json
import math
import os
import sys
import typing
import warnings
from dataclasses import MISSING, fields

from .config import AUGMENTATION, YOLOV5_AUGMENTATION, TrainConfig, defaults
from .engine.distributed import World, barrier, broadcast_object, check_global_batch, cuda_device_of, init_from_env, launched, shutdown
from .data import DataError, LabelError, read_data_yaml
from .store.paths import runs_root
from .store.lock import lock_kind
from .store.runs import RunStore
from .models.yolo import SCALES
from .engine.seeding import resolve_device
from .engine.nonfinite import NonFiniteLossError
from .weighting import WEIGHTINGS
from .weights import WeightsError, weights_fingerprint

SUMMARY = ("mAP50", "mAP50_95", "precision", "recall", "f1", "view_accuracy", "view_macro_f1")
TASK_WEIGHTS = {"fixed": "weights", "gradnorm": "initial_weights", "upstream_rule": "initial_weights"}


class OneLineParser(argparse.ArgumentParser):
    """argparse, but a bad flag is one line (``prog: error: ...``), exit 2, as every other bad value."""

    def error(self, message):
        self.exit(2, f"{self.prog}: error: {message}\n")

    def parse_args(self, args=None, namespace=None):
        ns, extra = self.parse_known_args(args, namespace)
        if extra:  # `--weights 1 1` meant the task loss weights before --weights took a checkpoint
            self.error(f"unrecognized arguments: {' '.join(extra)}{old_weights_hint(getattr(ns, 'weights', None))}")
        return ns


def old_weights_hint(weights) -> str:
    """What to say when ``--weights`` got a number: the task loss weights are ``--task-weights`` now."""
    try:
        float(str(weights))
    except ValueError:
        return ""
    return (" (--weights takes a checkpoint path, pretrained weights; the task loss weights are --task-weights, "
            "e.g. --task-weights 1 1)")


def positive_int(text: str) -> int:
    """An argparse type: a whole number >= 1 (``--imgsz``, ``--batch-size``, ``--max-det``)."""
    try:
        value = int(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"{text!r} is not a whole number") from None
    if value < 1:
        raise argparse.ArgumentTypeError(f"{text} is not >= 1")
    return value


def _json_dict(text: str) -> dict:
    try:
        value = json.loads(text)
    except json.JSONDecodeError as e:
        raise argparse.ArgumentTypeError(f"not JSON ({e.msg})") from None
    if not isinstance(value, dict):
        raise argparse.ArgumentTypeError("must be a JSON object, e.g. '{\"alpha\": 1.5}'")
    return value


def _optional_str(text: str) -> str | None:
    return None if text.lower() in ("", "none", "null") else text


def _option(text: str) -> tuple[str, object]:
    key, sep, value = text.partition("=")
    if not sep or not key:
        raise argparse.ArgumentTypeError(f"{text!r} is not KEY=VALUE")
    try:
        return key, json.loads(value)
    except json.JSONDecodeError:
        return key, value  # a plain word, e.g. optimizer=sgd


def build_parser() -> argparse.ArgumentParser:
    p = OneLineParser(prog="python -m lib.train", description=__doc__.split("\n\n")[0],
                      formatter_class=argparse.ArgumentDefaultsHelpFormatter)
    hints = typing.get_type_hints(TrainConfig)
    for f in fields(TrainConfig):
        kind = hints[f.name]
        convert = {int: int, float: float, str: str, dict: _json_dict}.get(kind, _optional_str)
        default = f.default_factory() if f.default is MISSING else f.default
        choices = f.metadata.get("choices")
        if f.name == "weighting":
            choices = tuple(sorted(WEIGHTINGS))
        if f.name == "scale":
            choices = tuple(SCALES)
        if f.name in AUGMENTATION:  # absent when not given: --augment's preset (or the field's default) applies
            p.add_argument("--" + f.name.replace("_", "-"), dest=f.name, type=convert, default=argparse.SUPPRESS,
                           help=f"{f.metadata.get('help', '')}; default {default}, or --augment's value")
            continue
        p.add_argument("--" + f.name.replace("_", "-"), dest=f.name, type=convert, default=default,
                       choices=choices, help=f.metadata.get("help", ""))
    p.add_argument("--augment", choices=tuple(PRESETS), default="off",
                   help="augmentation preset under the fields above; yolov5: YOLOv5 7.0's hyp.scratch-low values and "
                        "Ultralytics' close_mosaic 10 (lib.config.YOLOV5_AUGMENTATION); a field given as a flag "
                        "overrides it")
    extra = p.add_argument_group("weighting conveniences (merged into --weighting-options)")
    extra.add_argument("--task-weights", type=float, nargs="+",
                       help="task weights (fixed), or the initial weights (gradnorm, upstream_rule)")
    extra.add_argument("--alpha", type=float, help="GradNorm alpha")
    extra.add_argument("--option", type=_option, action="append", default=[], metavar="KEY=VALUE",
                       help="one weighting option; VALUE is JSON or a plain word, e.g. --option optimizer=sgd")
    store = p.add_argument_group("run store")
    store.add_argument("--runs", default=None, help="run store folder; None: $ECHO_MTL_RUNS or runs/ (the decoded-split cache stays "
                                                          "under $ECHO_MTL_RUNS/cache, or runs/cache)")
    store.add_argument("--force", action="store_true", help="train again even if the run store has this run")
    store.add_argument("--no-progress", action="store_true", help="no progress bar on stderr")
    return p


PRESETS = {"off": {}, "yolov5": YOLOV5_AUGMENTATION}
DEFAULTS = defaults()


def config_from_args(args: argparse.Namespace) -> TrainConfig:
    """The configuration the flags describe; ValueError (from ``TrainConfig``) names a bad field or option."""
    values = {f.name: getattr(args, f.name, None) for f in fields(TrainConfig)}
    preset = PRESETS[getattr(args, "augment", "off")]
    for name in AUGMENTATION:
        if values[name] is None:
            values[name] = preset.get(name, DEFAULTS[name])
    options = dict(values["weighting_options"])
    options.update(dict(args.option))
    if (hint := old_weights_hint(values["weights"])) and not os.path.exists(values["weights"]):
        raise ValueError(f"--weights {values['weights']}: no such file{hint}")
    if args.task_weights is not None:
        if values["weighting"] not in TASK_WEIGHTS:
            raise ValueError(f"--task-weights applies to {', '.join(TASK_WEIGHTS)}, not to weighting "
                             f"{values['weighting']!r}")
        options[TASK_WEIGHTS[values["weighting"]]] = args.task_weights
    if args.alpha is not None:
        options["alpha"] = args.alpha
    values["weighting_options"] = options
    return TrainConfig(**values)


def _json_value(v):
    """NaN and infinities (undefined metrics) as ``None`` (JSON ``null``); everything else unchanged."""
    return None if isinstance(v, float) and not math.isfinite(v) else v


def summary_line(metrics: dict, run_path) -> str:
    """The command's last stdout line: ``val`` metrics, size, time and run folder as strict JSON (NaN -> null)."""
    summary = {k: metrics.get(f"val_{k}") for k in SUMMARY}
    summary.update(parameters=metrics["parameters"], train_seconds=metrics["train_seconds"], run=str(run_path))
    return json.dumps({k: _json_value(v) for k, v in summary.items()}, allow_nan=False)


def _print_warning(message, category, filename, lineno, file=None, line=None) -> None:
    """A warning as a user reads it: ``warning: <message>`` on stderr, without the source line that raised it."""
    print(f"warning: {message}", file=sys.stderr)


def main(argv: list[str] | None = None) -> int:
    args = build_parser().parse_args(argv)
    speaker = os.environ.get("RANK", "0") == "0"  # under torchrun, rank 0 prints for every rank

    def fail(message: str) -> int:
        if speaker:
            print(f"error: {message}", file=sys.stderr)
        return 2

    try:
        cfg = config_from_args(args)
        if cfg.weights is not None:
            weights_fingerprint(cfg.weights)  # a missing --weights file: refused before anything is made
        resolve_device(cfg.device)  # CUDA asked for on a machine without it: refused before anything is made
        lock_kind()  # a bad $ECHO_MTL_LOCK: refused before anything is made
        if launched():  # refused before the process group starts: one message, from rank 0
            processes = int(os.environ["WORLD_SIZE"])
            check_global_batch(cfg.batch_size, processes)
            cuda_device_of(cfg.device, World(size=processes))  # cuda:N refused by name
        if cfg.data is not None:
            read_data_yaml(cfg.data)  # a missing or broken data.yaml: refused before any process group starts
    except LabelError as e:
        return fail(e)
    except (ValueError, DataError, FileNotFoundError) as e:
        return fail(e)
    main_rank = init_from_env(cfg.device).main
    try:
        return _train_and_report(args, cfg, main_rank, fail)
    finally:
        shutdown()


def _train_and_report(args, cfg: TrainConfig, main_rank: bool, fail) -> int:
    try:
        with warnings.catch_warnings():
            warnings.showwarning = _print_warning
            store = RunStore(args.runs or runs_root())
            stored = None if args.force or not main_rank else store.get(cfg)
            stored = broadcast_object(stored)
            run = stored or store.get_or_train(cfg, force=args.force, progress=not args.no_progress)
    except LabelError as e:
        hint = "" if cfg.on_bad_label == "skip" else " (--on-bad-label skip leaves bad files out, with a summary)"
        return fail(f"{e}{hint}")  # the message names the file and line
    except NonFiniteLossError as e:  # a loss of one rank's shard: that rank says so
        rank = os.environ.get("RANK", "0")
        print(f"error{'' if rank == '0' else f' (rank {rank})'}: {e}", file=sys.stderr)
        return 2
    except (DataError, FileNotFoundError, WeightsError) as e:
        return fail(e)  # the message names the file and key
    barrier()  # every rank is done with the run before any leaves
    if not main_rank:
        return 0  # rank 0 reports
    if stored is not None:
        print(f"using the stored run {run.path} (same configuration, data bytes and code; --cache and --workers are "
              f"not part of it, as they change no number; --force trains again)", file=sys.stderr)
    undefined = [k for k in SUMMARY if k in ("mAP50", "mAP50_95", "precision", "recall", "f1")
                 and "det" in cfg.tasks and _json_value(run.metrics.get(f"val_{k}")) is None]
    if undefined and stored is not None:  # a new run said so while it evaluated
        print(f"warning: {', '.join(undefined)} undefined on val (null): the split has no ground-truth objects",
              file=sys.stderr)
    print(summary_line(run.metrics, run.path))
    return 0

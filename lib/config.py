"""Run configuration as plain data: one ``TrainConfig`` per training run, and the one set of defaults.

Notebooks (through their report profile), the command line (``lib.cli``,
whose flags are generated from these fields) and the run store all pass this
object; its canonical JSON (``to_json``) is what a run's key is hashed from.
A configuration that cannot train (an unknown model, a weighting option the
method does not take, a value out of range) raises ``ValueError`` when it is
built, naming the field and what is accepted, before anything is created.

Plain data: the accepted values of each choice are defined here (the data
loader, the precision module and the model registry read them from here), and
nothing heavier than the standard library is imported with this module. The
registries of ``lib.models`` and ``lib.weighting`` (scales, weighting names and
option signatures) and the precision check of the device are imported only when
a configuration is validated.
"""
from __future__ import annotations

import json
import re
import typing
from dataclasses import MISSING, asdict, dataclass, field, fields, replace
from pathlib import Path

MODELS = ("shared", "detached", "dual")
ON_BAD_LABEL = ("error", "skip")        # a bad image or label file: stop, or leave it out
AMP_MODES = ("off", "bf16", "fp16")     # autocast of the training step (lib.engine.precision)
MEMORY_FORMATS = ("contiguous", "channels_last")
CACHES = ("auto", "ram", "disk", "none")  # where a split's letterboxed frames live (lib.data.dataset, lib.data.source)
# The augmentation fields, YOLOv5's hyperparameters (lib.data.augment); YOLOv5 7.0's data/hyps/hyp.scratch-low.yaml
# values, and Ultralytics' close_mosaic. ``aug_scale`` is YOLOv5's ``scale``.
AUGMENTATION = ("hsv_h", "hsv_s", "hsv_v", "degrees", "translate", "aug_scale", "shear", "perspective", "flipud",
                "fliplr", "mosaic", "mixup", "close_mosaic")
YOLOV5_AUGMENTATION = {"hsv_h": 0.015, "hsv_s": 0.7, "hsv_v": 0.4, "degrees": 0.0, "translate": 0.1, "aug_scale": 0.5,
                       "shear": 0.0, "perspective": 0.0, "flipud": 0.0, "fliplr": 0.5, "mosaic": 1.0, "mixup": 0.0,
                       "close_mosaic": 10}
# how data reaches the step, not what it is: left out of a run's key (every value gives the same batches)
LOADER_FIELDS = ("cache", "workers")


def check_amp(amp: str, device_type: str) -> None:
    """``ValueError`` naming the setting when ``amp`` cannot run on a device of ``device_type`` ("cpu", "cuda", ...)."""
    if amp in ("bf16", "fp16") and device_type not in ("cpu", "cuda"):
        raise ValueError(f"amp={amp!r} runs on cpu or cuda, not {device_type}")
    if amp not in AMP_MODES:
        raise ValueError(f"amp must be one of {', '.join(AMP_MODES)}; got {amp!r}")


TASK_SETS = {"both": ("det", "view"), "det": ("det",), "view": ("view",)}


class ConfigError(ValueError):
    """A configuration that cannot train. ``problems`` maps each offending field to what is wrong with it."""

    def __init__(self, problems: dict[str, str]):
        self.problems = dict(problems)
        super().__init__("invalid TrainConfig: " + "; ".join(self.problems.values()))


# (field, test, the rule in words) for the numeric fields with a range
RANGES = [(name, lambda v: v >= 1, ">= 1") for name in ("epochs", "batch_size", "imgsz", "eval_every")] + [
    (name, lambda v: v >= 0, ">= 0") for name in ("threads", "interference_every", "bn_calibration_images", "patience",
                                                   "max_train_images", "weight_decay", "warmup_epochs", "grad_clip", "min_delta")] + [
    ("lr", lambda v: v > 0, "> 0"), ("ema_decay", lambda v: 0 <= v < 1, "in [0, 1)"), ("ema_tau", lambda v: v > 0, "> 0"),
    ("final_lr_ratio", lambda v: 0 <= v <= 1, "in [0, 1]")] + [
    (name, lambda v: 0 <= v <= 1, "in [0, 1]") for name in ("hsv_h", "hsv_s", "hsv_v", "flipud", "fliplr", "mosaic",
                                                             "mixup")] + [
    (name, lambda v: 0 <= v < 1, "in [0, 1)") for name in ("translate", "aug_scale")] + [
    (name, lambda v: 0 <= v <= 180, "in [0, 180] degrees") for name in ("degrees", "shear")] + [
    ("perspective", lambda v: 0 <= v <= 0.001, "in [0, 0.001] (YOLOv5's range)"),
    ("close_mosaic", lambda v: v >= 0, ">= 0"), ("workers", lambda v: v >= -1, ">= -1 (-1: auto)")]


def imgsz_problem(imgsz: int) -> str | None:
    """Why ``imgsz`` cannot be a network input side (None when it can): it must be a multiple of 32, the
    P5 stride (YOLOv5's ``check_img_size`` rounds up instead; here a size is never changed silently)."""
    return None if imgsz % 32 == 0 else f"imgsz must be a multiple of 32 (the P5 stride), got {imgsz}"


def _f(default, help: str, choices=None, **kw):
    """A field with its command-line help (and choices) in its metadata."""
    meta = {"help": help, "choices": choices}
    if isinstance(default, dict):
        return field(default_factory=lambda: dict(default), metadata=meta, **kw)
    return field(default=default, metadata=meta, **kw)


@dataclass(frozen=True)
class TrainConfig:
    data: str | None = _f(None, "path to a data.yaml; None: the synthetic benchmark (generated once)")
    on_bad_label: str = _f("error", "a bad image or label file: error (stop, naming file and line) or skip "
                                    "(leave it out; one summary of what was skipped and why)", ON_BAD_LABEL)
    model: str = _f("shared", "shared: YOLOv5WithClassification; detached: view head on a stop-gradient copy; "
                              "dual: two independent networks", MODELS)
    weights: str | None = _f(None, "pretrained weights to start from (lib.weights): a released YOLOv5 .pt (read "
                                   "without running code from it), a state dict, a .safetensors, or a run folder or "
                                   "model.pt of this project; transferred by name and shape, as YOLOv5's --weights; "
                                   "the file's bytes are part of the run key. None: from scratch")
    scale: str = _f("p", "model width/depth: p (pico, this project's CPU default), or YOLOv5's n, s, m, l")
    task: str = _f("both", "both, or one task alone (single-task references)", tuple(TASK_SETS))
    weighting: str = _f("fixed", "loss-balancing method (lib.weighting)")
    weighting_options: dict = _f({}, "the method's options as JSON, e.g. '{\"alpha\": 1.5}'")
    epochs: int = _f(8, "training epochs")
    batch_size: int = _f(16, "images per optimizer step")
    imgsz: int = _f(128, "letterboxed square input size in pixels (a multiple of 32)")
    lr: float = _f(2e-3, "AdamW peak learning rate")
    weight_decay: float = _f(5e-4, "AdamW weight decay, on conv/linear weights only")
    warmup_epochs: float = _f(1.0, "linear warm-up from 10 percent of the peak rate, in epochs")
    final_lr_ratio: float = _f(0.05, "cosine decay ends at lr x this")
    grad_clip: float = _f(10.0, "max gradient norm (YOLOv5 uses 10); 0 disables")
    seed: int = _f(0, "seed of initialisation, data order and dropout")
    device: str = _f("auto", "auto (CUDA when present), cpu, cuda or cuda:N")
    threads: int = _f(0, "CPU threads for torch (0: torch's default); part of the key, as results can differ "
                         "in the last bits between thread counts")
    amp: str = _f("off", "mixed precision of the training step (lib.engine.precision): off (float32), bf16 autocast, "
                         "or fp16 autocast with a GradScaler (meant for CUDA; runs, slowly, on the CPU); evaluation "
                         "is float32 either way",
                  AMP_MODES)
    memory_format: str = _f("contiguous", "layout of the model's weights and input batches: contiguous (NCHW) or "
                                          "channels_last (NHWC)", MEMORY_FORMATS)
    ema_decay: float = _f(0.0, "evaluate (and save) an exponential moving average of the weights, YOLOv5's ModelEMA: "
                                "decay d, ramped as d (1 - exp(-updates / ema_tau)); 0: off (YOLOv5 uses 0.9999)")
    ema_tau: float = _f(2000.0, "EMA warm-up, in optimizer steps (YOLOv5: 2000)")
    anchors: str = _f("fit", "fit: k-means on the train labels; default: YOLOv5's, scaled", ("fit", "default"))
    interference_every: int = _f(25, "measure gradient interference on the shared parameters every N steps "
                                     "(0: never)")
    eval_every: int = _f(2, "evaluate on val every N epochs (the last epoch always)")
    patience: int = _f(0, "stop when the validation fitness (lib.engine.stopping) has not improved for N evaluated "
                          "epochs, then test the best epoch's weights (YOLOv5's --patience, best.pt); epochs is the "
                          "maximum; needs eval_every=1; 0: off, the last epoch's weights are tested")
    min_delta: float = _f(0.0, "with patience: only a validation fitness gain of more than this restarts the "
                               "patience count (Keras' and Lightning's min_delta; 0: any gain, YOLOv5's rule)")
    bn_calibration_images: int = _f(256, "recompute BatchNorm statistics on this many train images before "
                                         "evaluating (0: never)")
    max_train_images: int = _f(0, "use only the first N train images (0: all); for tests and smoke runs")
    # training augmentation (lib.data.augment): YOLOv5's hyperparameters, names and meanings; 0 is off
    hsv_h: float = _f(0.0, "hue gain: hue shifted by up to +- this fraction of the colour circle (YOLOv5: 0.015)")
    hsv_s: float = _f(0.0, "saturation gain, +- fraction (YOLOv5: 0.7)")
    hsv_v: float = _f(0.0, "value (brightness) gain, +- fraction (YOLOv5: 0.4)")
    degrees: float = _f(0.0, "rotation, +- degrees (YOLOv5: 0)")
    translate: float = _f(0.0, "translation, +- fraction of the frame (YOLOv5: 0.1)")
    aug_scale: float = _f(0.0, "zoom 1 +- this gain: YOLOv5's hyp 'scale', renamed as --scale is the model's (YOLOv5: 0.5)")
    shear: float = _f(0.0, "shear, +- degrees (YOLOv5: 0)")
    perspective: float = _f(0.0, "perspective, +- fraction, 0 to 0.001 (YOLOv5: 0)")
    flipud: float = _f(0.0, "probability of an up-down flip (YOLOv5: 0)")
    fliplr: float = _f(0.0, "probability of a left-right flip (YOLOv5: 0.5)")
    mosaic: float = _f(0.0, "probability of a 4-frame mosaic, tiles of the frame's view (YOLOv5: 1.0)")
    mixup: float = _f(0.0, "probability of blending a mosaic with a second one of the same view (YOLOv5: 0)")
    close_mosaic: int = _f(0, "no mosaic (nor mixup) in the last N of the epochs (Ultralytics: 10)")
    cache: str = _f("auto", "where a split's letterboxed frames live (YOLOv5's --cache): ram, disk (a memory-mapped "
                            "file, read per item), none (decoded per item), or auto (ram up to 1 GiB of frames, "
                            "else disk); not part of the run key: every choice gives the same pixels", CACHES)
    workers: int = _f(-1, "DataLoader worker processes building training items (YOLOv5's --workers); -1: auto (0 "
                          "when items are stored frames, no augmentation and cache ram; else min(8, CPUs - 1)); "
                          "not part of the run key: batches are the same for any count")

    def __post_init__(self):
        problems = self._type_problems()
        if problems:  # ranges cannot be compared on values of the wrong type
            raise ConfigError(problems)
        if self.data is not None:  # one spelling per file: relative paths and '..' give the same run key
            object.__setattr__(self, "data", str(Path(self.data).expanduser().resolve()))
        if self.weights is not None:  # absolute: a run trains wherever its process starts (lib.experiments.batch)
            object.__setattr__(self, "weights", str(Path(self.weights).expanduser().resolve()))
        for f in fields(self):
            choices = f.metadata.get("choices")
            if choices and getattr(self, f.name) not in choices:
                problems[f.name] = f"{f.name} must be one of {', '.join(choices)}; got {getattr(self, f.name)!r}"
        if self.model == "dual" and self.task != "both":
            problems["task"] = "the dual backbone is a two-task model: use task='both'"
        for name, ok, rule in RANGES:
            if not ok(getattr(self, name)):
                problems[name] = f"{name} must be {rule}, got {getattr(self, name)}"
        if self.patience > 0 and self.eval_every != 1 and "eval_every" not in problems:
            problems["patience"] = (f"patience={self.patience} counts evaluated epochs and needs validation every "
                                    f"epoch: set eval_every=1 (got eval_every={self.eval_every}) or patience=0")
        if self.mixup > 0 and self.mosaic == 0 and "mixup" not in problems:
            problems["mixup"] = f"mixup={self.mixup} blends two mosaics (YOLOv5's rule): set mosaic > 0, or mixup=0"
        if imgsz_problem(self.imgsz):
            problems["imgsz"] = imgsz_problem(self.imgsz)
        if not re.fullmatch(r"auto|cpu|mps|cuda(:\d+)?", self.device):
            problems["device"] = f"device must be auto, cpu, cuda, cuda:N or mps; got {self.device!r}"
        if self.amp in AMP_MODES and not problems:
            try:
                check_amp(self.amp, self.device.split(":")[0] if self.device != "auto" else "cpu")
            except ValueError as e:
                problems["amp"] = str(e)
        if not problems:
            problems.update(self._registry_problems())
        if problems:
            raise ConfigError(problems)

    def _type_problems(self) -> dict[str, str]:
        """Each field of its declared type; an int given for a float field becomes that float (one key)."""
        out = {}
        hints = typing.get_type_hints(type(self))
        for f in fields(self):
            value, kind = getattr(self, f.name), hints[f.name]
            if kind is float and isinstance(value, int) and not isinstance(value, bool):
                object.__setattr__(self, f.name, float(value))
            elif kind in (int, float, str, dict) and (not isinstance(value, kind) or isinstance(value, bool)):
                out[f.name] = f"{f.name} must be {kind.__name__}, got {value!r}"
            elif kind not in (int, float, str, dict) and value is not None and not isinstance(value, str):
                out[f.name] = f"{f.name} must be a path (str) or None, got {value!r}"
        return out

    def _registry_problems(self) -> dict[str, str]:
        from .models.yolo import SCALES
        from .weighting import WEIGHTINGS, build_weighting

        if self.scale not in SCALES:
            return {"scale": f"scale must be one of {', '.join(SCALES)}; got {self.scale!r}"}
        if self.weighting not in WEIGHTINGS:
            return {"weighting": f"weighting must be one of {', '.join(sorted(WEIGHTINGS))}; got {self.weighting!r}"}
        try:  # the method itself checks its options' names (against its signature) and values
            build_weighting(self.weighting, len(self.tasks), **self.weighting_options)
        except ValueError as e:
            return {"weighting_options": str(e)}
        return {}

    @property
    def tasks(self) -> tuple[str, ...]:
        return TASK_SETS[self.task]

    def to_dict(self) -> dict:
        return asdict(self)

    def to_json(self) -> str:
        return json.dumps(self.to_dict(), sort_keys=True, separators=(",", ":"))

    @property
    def augmented(self) -> bool:
        """Whether any training augmentation is on."""
        return any(getattr(self, name) for name in AUGMENTATION if name != "close_mosaic")

    @classmethod
    def from_dict(cls, d: dict) -> "TrainConfig":
        """ValueError naming unknown fields."""
        unknown = set(d) - set(field_names())
        if unknown:
            raise ValueError(f"unknown TrainConfig fields: {sorted(unknown)}; known: {', '.join(field_names())}")
        return cls(**d)

    def replace(self, **changes) -> "TrainConfig":
        return replace(self, **changes)


def field_names() -> list[str]:
    return [f.name for f in fields(TrainConfig)]


def defaults() -> dict:
    """Every field's default: the one set of defaults that the CLI, the report and ``lib.train`` share."""
    return {f.name: (f.default_factory() if f.default is MISSING else f.default) for f in fields(TrainConfig)}

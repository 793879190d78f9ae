"""Run configuration as plain data: one ``TrainConfig`` per training run.

Notebooks, the command line and the run store all pass this object; its
canonical JSON (``to_json``) is what a run's key is hashed from.
"""
from __future__ import annotations

import json
from dataclasses import asdict, dataclass, field, fields, replace

MODELS = ("shared", "detached", "dual")
TASK_SETS = {"both": ("det", "cls"), "det": ("det",), "cls": ("cls",)}


@dataclass(frozen=True)
class TrainConfig:
    data: str | None = None          # path to data.yaml; None = the synthetic default benchmark
    model: str = "shared"            # shared | detached | dual
    scale: str = "cpu"               # YOLOv5 width/depth family: cpu (default, 128 px), n, s, m, l
    task: str = "both"               # both | det | cls (single-task references)
    weighting: str = "fixed"         # a name from lib.weighting.WEIGHTINGS
    weighting_options: dict = field(default_factory=dict)  # e.g. {"weights": [1.0, 0.01]} or {"alpha": 1.5}
    epochs: int = 10
    batch_size: int = 16
    imgsz: int = 128                 # letterboxed square input size
    lr: float = 2e-3                 # AdamW peak learning rate
    weight_decay: float = 5e-4       # on conv/linear weights only
    warmup_epochs: float = 1.0       # linear warm-up, then cosine decay to lr * final_lr_ratio
    final_lr_ratio: float = 0.05
    grad_clip: float = 10.0          # max gradient norm (YOLOv5 uses 10); 0 disables
    seed: int = 0
    device: str = "auto"             # auto (CUDA when present) | cpu | cuda | cuda:N
    threads: int = 0                 # CPU threads for torch (0: torch's default); part of the key, as
                                     # results can differ in the last bits between thread counts
    anchors: str = "fit"             # fit (k-means on train labels) | default (YOLOv5's, scaled)
    probe_every: int = 10            # measure gradient interference every N steps (0: never)
    eval_every: int = 1              # evaluate on val every N epochs (the last epoch always)
    bn_calibration_images: int = 256  # recompute BatchNorm statistics on this many train images before evaluating
    max_train_images: int = 0        # use only the first N train images (0: all); for tests and smoke runs

    def __post_init__(self):
        problems = []
        if self.model not in MODELS:
            problems.append(f"model must be one of {MODELS}, got {self.model!r}")
        if self.task not in TASK_SETS:
            problems.append(f"task must be one of {tuple(TASK_SETS)}, got {self.task!r}")
        if self.model == "dual" and self.task != "both":
            problems.append("the dual backbone is a two-task model: use task='both'")
        from .weighting import WEIGHTINGS  # late import: weighting does not need config

        if self.weighting not in WEIGHTINGS:
            problems.append(f"weighting must be one of {sorted(WEIGHTINGS)}, got {self.weighting!r}")
        for name in ("epochs", "batch_size", "imgsz"):
            if getattr(self, name) < 1:
                problems.append(f"{name} must be >= 1, got {getattr(self, name)}")
        if self.imgsz % 32:
            problems.append(f"imgsz must be a multiple of 32 (the P5 stride), got {self.imgsz}")
        if self.lr <= 0:
            problems.append(f"lr must be > 0, got {self.lr}")
        if self.anchors not in ("fit", "default"):
            problems.append(f"anchors must be 'fit' or 'default', got {self.anchors!r}")
        if problems:
            raise ValueError("invalid TrainConfig: " + "; ".join(problems))

    @property
    def tasks(self) -> tuple[str, ...]:
        return TASK_SETS[self.task]

    def to_dict(self) -> dict:
        return asdict(self)

    def to_json(self) -> str:
        return json.dumps(self.to_dict(), sort_keys=True, separators=(",", ":"))

    @classmethod
    def from_dict(cls, d: dict) -> "TrainConfig":
        known = {f.name for f in fields(cls)}
        unknown = set(d) - known
        if unknown:
            raise ValueError(f"unknown TrainConfig fields: {sorted(unknown)}")
        return cls(**d)

    def replace(self, **changes) -> "TrainConfig":
        return replace(self, **changes)

"""YOLOv5 (v6 layout) with a view-classification head: ``YOLOv5WithClassification``.

Layer numbers in comments follow ``yolov5s.yaml`` so the model can be checked
against the original. The network is split where the tasks part ways:

    Backbone (0-9) -> FPN top-down (10-17) -> PAN bottom-up (18-23) -> Detect
                                   \\-> P3/8 (17) -> ClassificationHead (view)

Backbone and FPN are shared; PAN and Detect are detection-only. The
classification head sits on the neck's P3/8 C3 output as upstream did, so
the last shared layer (GradNorm's W) is layer 17's output conv.
"""
from __future__ import annotations

import math
from dataclasses import dataclass

import torch
from torch import nn

from .base import MultiTaskModel
from .blocks import C3, SPPF, Conv
from .detect import Detect


@dataclass(frozen=True)
class Scale:
    """YOLOv5's model-family knobs: ``depth_multiple`` scales C3 repeats, ``width_multiple`` channels."""

    depth_multiple: float
    width_multiple: float

    def ch(self, c: int) -> int:
        """Channels rounded up to a multiple of 8 (``make_divisible``)."""
        return int(math.ceil(c * self.width_multiple / 8) * 8)

    def n(self, n: int) -> int:
        return max(round(n * self.depth_multiple), 1)


# "p" (pico, half of nano's width) is this project's default for 128 px images on a CPU
# (a few hundred K parameters); n, s, m, l are YOLOv5's own.
SCALES = {
    "p": Scale(0.33, 0.125),
    "n": Scale(0.33, 0.25),
    "s": Scale(0.33, 0.50),
    "m": Scale(0.67, 0.75),
    "l": Scale(1.0, 1.0),
}


def get_scale(scale: str | Scale) -> Scale:
    if isinstance(scale, Scale):
        return scale
    if scale not in SCALES:
        raise ValueError(f"unknown scale {scale!r}; choose one of {sorted(SCALES)}")
    return SCALES[scale]


class Backbone(nn.Module):
    """CSP-Darknet53 with SPPF. Returns P3/8 (layer 4), P4/16 (layer 6), P5/32 (layer 9)."""

    def __init__(self, s: Scale):
        super().__init__()
        c = s.ch
        self.stem = Conv(3, c(64), 6, 2, 2)  # 0-P1/2
        self.stage2 = nn.Sequential(Conv(c(64), c(128), 3, 2), C3(c(128), c(128), s.n(3)))  # 1-2 P2/4
        self.stage3 = nn.Sequential(Conv(c(128), c(256), 3, 2), C3(c(256), c(256), s.n(6)))  # 3-4 P3/8
        self.stage4 = nn.Sequential(Conv(c(256), c(512), 3, 2), C3(c(512), c(512), s.n(9)))  # 5-6 P4/16
        self.stage5 = nn.Sequential(Conv(c(512), c(1024), 3, 2), C3(c(1024), c(1024), s.n(3)), SPPF(c(1024), c(1024), 5))  # 7-9

    def forward(self, x):
        p3 = self.stage3(self.stage2(self.stem(x)))
        p4 = self.stage4(p3)
        p5 = self.stage5(p4)
        return p3, p4, p5


class FPN(nn.Module):
    """Top-down path (layers 10-17). Returns the lateral maps 10 and 14 and the P3/8 output 17."""

    def __init__(self, s: Scale):
        super().__init__()
        c = s.ch
        self.lat5 = Conv(c(1024), c(512), 1, 1)  # 10
        self.up = nn.Upsample(scale_factor=2, mode="nearest")  # 11, 15
        self.c3_p4 = C3(c(512) * 2, c(512), s.n(3), shortcut=False)  # 12-13
        self.lat4 = Conv(c(512), c(256), 1, 1)  # 14
        self.out = C3(c(256) * 2, c(256), s.n(3), shortcut=False)  # 16-17 (P3/8)

    def forward(self, p3, p4, p5):
        h10 = self.lat5(p5)
        h14 = self.lat4(self.c3_p4(torch.cat((self.up(h10), p4), 1)))
        h17 = self.out(torch.cat((self.up(h14), p3), 1))
        return h10, h14, h17


class PAN(nn.Module):
    """Bottom-up path (layers 18-23). Returns the P3/8, P4/16, P5/32 maps that feed Detect."""

    def __init__(self, s: Scale):
        super().__init__()
        c = s.ch
        self.down3 = Conv(c(256), c(256), 3, 2)  # 18
        self.c3_p4 = C3(c(256) * 2, c(512), s.n(3), shortcut=False)  # 19-20 (P4/16)
        self.down4 = Conv(c(512), c(512), 3, 2)  # 21
        self.c3_p5 = C3(c(512) * 2, c(1024), s.n(3), shortcut=False)  # 22-23 (P5/32)

    def forward(self, h10, h14, h17):
        h20 = self.c3_p4(torch.cat((self.down3(h17), h14), 1))
        h23 = self.c3_p5(torch.cat((self.down4(h20), h10), 1))
        return h17, h20, h23

    @staticmethod
    def out_channels(s: Scale) -> tuple[int, int, int]:
        return s.ch(256), s.ch(512), s.ch(1024)


class ClassificationHead(nn.Module):
    """Upstream's view head: AdaptiveAvgPool(1) -> Flatten -> Dropout(0.2) -> Linear(C -> n_views)."""

    def __init__(self, c_in: int, n_views: int, dropout: float = 0.2):
        super().__init__()
        self.pool = nn.AdaptiveAvgPool2d(1)
        self.flatten = nn.Flatten()
        self.dropout = nn.Dropout(dropout)
        self.linear = nn.Linear(c_in, n_views)

    def forward(self, x):
        return self.linear(self.dropout(self.flatten(self.pool(x))))


class YOLODetector(nn.Module):
    """Backbone + FPN + PAN + Detect: the detection network on its own (used by the dual backbone)."""

    def __init__(self, nc: int, anchors: torch.Tensor, scale: str | Scale = "p"):
        super().__init__()
        s = get_scale(scale)
        self.backbone = Backbone(s)
        self.fpn = FPN(s)
        self.pan = PAN(s)
        self.detect = Detect(nc, anchors, PAN.out_channels(s))

    def forward(self, x):
        return self.detect(list(self.pan(*self.fpn(*self.backbone(x)))))


class YOLOv5WithClassification(MultiTaskModel):
    """One YOLOv5 network for jet detection and view classification.

    ``forward(x)`` returns ``(detections, view_logits)``. In training mode
    ``detections`` is the list of raw per-level maps; in eval mode it is
    ``(decoded, raw)`` as in YOLOv5 (decoded: (B, N, 5 + nc), pixels).

    ``tasks`` selects the single-task references: ``("det",)`` drops the
    view head, ``("view",)`` drops PAN and Detect; the missing output is
    ``None``. ``detach_view=True`` feeds the view head a stop-gradient copy of
    the shared features: no interference by construction, no extra parameters.

    Trunk/head boundary (``forward_trunk``): the FPN outputs h10, h14, h17
    (layers 10, 14, 17); PAN + Detect read all three, the view head reads h17.
    """

    def __init__(self, nc: int, n_views: int, anchors: torch.Tensor, scale: str | Scale = "p",
                 tasks: tuple[str, ...] = ("det", "view"), detach_view: bool = False, dropout: float = 0.2):
        super().__init__()
        s = get_scale(scale)
        unknown = set(tasks) - {"det", "view"}
        if unknown or not tasks:
            raise ValueError(f"tasks must be a non-empty subset of ('det', 'view'), got {tasks!r}")
        self.tasks = tuple(t for t in ("det", "view") if t in tasks)
        self.detach_view = detach_view
        self.backbone = Backbone(s)
        self.fpn = FPN(s)
        self.pan = PAN(s) if "det" in tasks else None
        self.detect = Detect(nc, anchors, PAN.out_channels(s)) if "det" in tasks else None
        self.classify = ClassificationHead(s.ch(256), n_views, dropout) if "view" in tasks else None

    def forward_trunk(self, x):
        return self.fpn(*self.backbone(x))

    def forward_heads(self, features):
        h10, h14, h17 = features
        det = self.detect(list(self.pan(h10, h14, h17))) if self.detect is not None else None
        view = None
        if self.classify is not None:
            view = self.classify(h17.detach() if self.detach_view else h17)
        return det, view

    # -- MultiTaskModel --------------------------------------------------------
    def shared_modules(self):
        # With a detached head the trunk is trained by detection alone. A single-task reference
        # keeps the two-task model's split (its trunk counted as "shared"), so parts compare.
        return [] if self.detach_view else [self.backbone, self.fpn]

    def task_modules(self, task):
        if task not in self.tasks:
            raise KeyError(f"task {task!r} is not one of this model's tasks {self.tasks}")
        if task == "det":
            return ([self.backbone, self.fpn] if self.detach_view else []) + [self.pan, self.detect]
        return [self.classify]

    def norm_layer(self, task):
        if task == "view" and self.detach_view:
            return self.classify.linear  # the head shares nothing with detection
        return self.fpn.out.cv3.conv  # layer 17's output conv: the last layer both tasks train

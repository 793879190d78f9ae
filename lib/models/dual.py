"""Dual independent backbone: a YOLOv5 detector and a separate view classifier.

Nothing is shared, so no task gradient can interfere with the other; the
price is a second trunk (parameters, memory, time), which ``parameter_counts``
reports per part. Upstream's version never ran (unpadded stride-2 convs gave
mismatched map sizes); here both networks use YOLOv5's padded blocks.
"""
from __future__ import annotations

import torch
from torch import nn

from .attention import CBAM, SE
from .base import MultiTaskModel
from .blocks import C3, Conv
from .yolo import ClassificationHead, Scale, YOLODetector, get_scale


class ViewClassifier(nn.Module):
    """A small CSP CNN with SE after each stage and CBAM at the end (stride 16)."""

    def __init__(self, n_views: int, scale: str | Scale = "p", dropout: float = 0.2):
        super().__init__()
        s = get_scale(scale)
        c = s.ch
        layers: list[nn.Module] = [Conv(3, c(64), 6, 2, 2)]
        for c_in, c_out in ((c(64), c(128)), (c(128), c(256)), (c(256), c(512))):
            layers += [Conv(c_in, c_out, 3, 2), C3(c_out, c_out, s.n(3)), SE(c_out)]
        self.features = nn.Sequential(*layers)
        self.attention = CBAM(c(512))
        self.head = ClassificationHead(c(512), n_views, dropout)

    @property
    def last_conv(self) -> nn.Conv2d:
        return self.features[-2].cv3.conv  # the last C3's output conv

    def forward(self, x):
        return self.head(self.attention(self.features(x)))


class DualBackbone(MultiTaskModel):
    """``forward(x) -> (detections, view_logits)`` from two networks that share no parameter."""

    def __init__(self, nc: int, n_views: int, anchors: torch.Tensor, scale: str | Scale = "p", dropout: float = 0.2):
        super().__init__()
        self.tasks = ("det", "view")
        self.detector = YOLODetector(nc, anchors, scale)
        self.classifier = ViewClassifier(n_views, scale, dropout)

    @property
    def detect(self):
        return self.detector.detect

    def forward_trunk(self, x):
        return (x,)  # nothing is shared: both networks read the image

    def forward_heads(self, features):
        (x,) = features
        return self.detector(x), self.classifier(x)

    def shared_modules(self):
        return []

    def task_modules(self, task):
        return {"det": [self.detector], "view": [self.classifier]}[task]

    def norm_layer(self, task):
        return self.detector.fpn.out.cv3.conv if task == "det" else self.classifier.last_conv

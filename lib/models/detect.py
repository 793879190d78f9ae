"""YOLOv5 ``Detect`` head: per-level 1x1 convs, anchor-based decoding.

Raw maps have shape (B, na, H, W, 5 + nc): tx, ty, tw, th, objectness, classes.
Decoding follows YOLOv5 v6: xy = (2 sigmoid(t) - 0.5 + grid) * stride,
wh = (2 sigmoid(t))^2 * anchor, so a box can reach 4x its anchor.
"""
from __future__ import annotations

import math

import torch
from torch import nn


class Detect(nn.Module):
    def __init__(self, nc: int, anchors: torch.Tensor, ch: tuple[int, ...], strides: tuple[int, ...] = (8, 16, 32)):
        super().__init__()
        anchors = torch.as_tensor(anchors, dtype=torch.float32)
        if anchors.shape != (len(ch), anchors.shape[1], 2):
            raise ValueError(f"anchors must have shape (levels={len(ch)}, na, 2), got {tuple(anchors.shape)}")
        self.nc = nc
        self.no = nc + 5
        self.nl = len(ch)
        self.na = anchors.shape[1]
        self.register_buffer("anchors", anchors)  # pixels, (nl, na, 2)
        self.register_buffer("stride", torch.tensor(strides, dtype=torch.float32))
        self.m = nn.ModuleList(nn.Conv2d(c, self.na * self.no, 1) for c in ch)

    def forward(self, xs: list[torch.Tensor]):
        raw = []
        for conv, x in zip(self.m, xs):
            b, _, h, w = x.shape
            raw.append(conv(x).view(b, self.na, self.no, h, w).permute(0, 1, 3, 4, 2).contiguous())
        if self.training:
            return raw
        return self.decode(raw), raw

    def decode(self, raw: list[torch.Tensor]) -> torch.Tensor:
        """Raw maps -> (B, N, 5 + nc): cx, cy, w, h in input pixels, objectness and class probabilities."""
        out = []
        for i, p in enumerate(raw):
            b, na, h, w, no = p.shape
            yv, xv = torch.meshgrid(torch.arange(h, device=p.device), torch.arange(w, device=p.device), indexing="ij")
            grid = torch.stack((xv, yv), 2).view(1, 1, h, w, 2).to(p.dtype)
            anchor = self.anchors[i].view(1, na, 1, 1, 2).to(p.dtype)
            y = p.sigmoid()
            xy = (y[..., :2] * 2 - 0.5 + grid) * self.stride[i]
            wh = (y[..., 2:4] * 2) ** 2 * anchor
            out.append(torch.cat((xy, wh, y[..., 4:]), -1).view(b, -1, no))
        return torch.cat(out, 1)

    @torch.no_grad()
    def initialize_biases(self, imgsz: int, class_freq: torch.Tensor | None = None) -> None:
        """Prior-probability bias init (YOLOv5 ``_initialize_biases``; Lin et al. 2017, sec. 3.3).

        As YOLOv5: objectness ``+= log(8 / (size / stride)^2)`` (8 objects per
        image) and classes ``+= log(0.6 / (nc - 0.99999))``, for every ``nc``
        (at ``nc = 1`` the class probability starts near 1, so that
        ``obj * p(class)`` is the objectness, the class logit having no loss),
        or ``log(class_freq / sum)`` when frequencies are given. One deliberate
        difference: YOLOv5 fixes ``size`` at 640 whatever the training size;
        here it is ``imgsz`` (identical at 640), i.e. 8 objects per training image.
        """
        for conv, s in zip(self.m, self.stride):
            b = conv.bias.view(self.na, -1)
            b[:, 4] += math.log(8 / (imgsz / float(s)) ** 2)
            if class_freq is None:
                b[:, 5:5 + self.nc] += math.log(0.6 / (self.nc - 0.99999))
            else:
                b[:, 5:5 + self.nc] += torch.log(class_freq / class_freq.sum())

"""YOLOv5 detection loss (``utils/loss.py::ComputeLoss``): CIoU box, objectness, class terms.

loss = box * mean(1 - CIoU) + obj * sum_l balance_l BCE(obj_l, IoU target) + cls * BCE(cls)
over the positives of ``build_targets``. The objectness target of a positive is
its (detached, clamped) IoU with its label, as in YOLOv5 (gr = 1). Gains follow
YOLOv5's hyp.scratch-low, scaled by the number of classes and the image size
as its train.py does. The returned loss is per image (YOLOv5 multiplies by the
batch size; the weighting methods here need a batch-size-free scale).

Shared cells: when several positives fall in the same image/anchor/cell, the
cell's objectness target is the largest of their IoUs (see
``objectness_target``). YOLOv5 writes the targets with one indexed assignment:
by default (``sort_obj_iou=False``) the last write among duplicates is kept,
and which write is last is undefined on CUDA; with ``sort_obj_iou=True`` it
sorts by IoU so that the best one is written last, which still relies on the
write order. Here the maximum is taken explicitly by a scatter-reduce, which
does not depend on the order of the targets or on the device. Without shared
cells the targets equal YOLOv5's exactly.
"""
from __future__ import annotations

from dataclasses import dataclass

import torch
from torch import nn
from torchvision.ops import box_convert, complete_box_iou_loss

from .assign import build_targets


@dataclass(frozen=True)
class DetectionLossConfig:
    box: float = 0.05      # box loss gain
    obj: float = 1.0       # objectness gain (at 640 px, 3 levels)
    cls: float = 0.5       # class gain (at 80 classes, 3 levels)
    anchor_t: float = 4.0  # anchor-label width/height ratio threshold
    balance: tuple[float, float, float] = (4.0, 1.0, 0.4)  # objectness weight of P3, P4, P5


def objectness_target(shape: tuple[int, int, int, int] | torch.Size, image: torch.Tensor, anchor: torch.Tensor,
                      gj: torch.Tensor, gi: torch.Tensor, iou: torch.Tensor) -> torch.Tensor:
    """Objectness targets (B, na, H, W): zero, except each positive's cell holds ``iou``.

    A cell hit by several positives holds the maximum of their IoUs (a
    scatter-reduce ``amax``, deterministic on every device and independent of
    the order of the positives), rather than whichever write lands last.
    """
    tobj = torch.zeros(tuple(shape), device=iou.device, dtype=iou.dtype)
    if iou.numel():
        _, na, ny, nx = tobj.shape
        flat = ((image * na + anchor) * ny + gj) * nx + gi
        tobj.view(-1).scatter_reduce_(0, flat, iou, reduce="amax", include_self=False)
    return tobj


class DetectionLoss:
    """Callable ``loss(raw, targets) -> (loss, items)``; items = detached [box, obj, cls]."""

    def __init__(self, detect: nn.Module, imgsz: int, cfg: DetectionLossConfig = DetectionLossConfig()):
        self.detect = detect  # read for its anchors and strides only
        nl, nc = detect.nl, detect.nc
        self.nc = nc
        self.anchor_t = cfg.anchor_t
        self.balance = cfg.balance[:nl]
        self.gain_box = cfg.box * 3 / nl
        self.gain_cls = cfg.cls * nc / 80 * 3 / nl
        self.gain_obj = cfg.obj * (imgsz / 640) ** 2 * 3 / nl
        self.bce = nn.BCEWithLogitsLoss()

    def __call__(self, raw: list[torch.Tensor], targets: torch.Tensor):
        device = raw[0].device
        anchors_grid = self.detect.anchors / self.detect.stride.view(-1, 1, 1)
        assigned = build_targets([p.shape[2:4] for p in raw], anchors_grid, targets.to(device), self.anchor_t)
        lbox = torch.zeros((), device=device)
        lobj = torch.zeros((), device=device)
        lcls = torch.zeros((), device=device)
        for p, tg, balance in zip(raw, assigned, self.balance):
            tobj = torch.zeros(p.shape[:4], device=device, dtype=p.dtype)
            if tg.image.numel():
                ps = p[tg.image, tg.anchor, tg.gj, tg.gi]
                pxy = ps[:, :2].sigmoid() * 2 - 0.5
                pwh = (ps[:, 2:4].sigmoid() * 2) ** 2 * tg.anchor_wh
                pbox = box_convert(torch.cat((pxy, pwh), 1), "cxcywh", "xyxy")
                tbox = box_convert(tg.box, "cxcywh", "xyxy")
                ciou_loss = complete_box_iou_loss(pbox, tbox, reduction="none")
                lbox = lbox + ciou_loss.mean()
                # IoU target for objectness; the best IoU wins a shared cell (see module docstring).
                iou = (1.0 - ciou_loss).detach().clamp(0).to(tobj.dtype)
                tobj = objectness_target(tobj.shape, tg.image, tg.anchor, tg.gj, tg.gi, iou)
                if self.nc > 1:
                    tcls = torch.zeros_like(ps[:, 5:])
                    tcls[torch.arange(len(tg.cls), device=device), tg.cls] = 1.0
                    lcls = lcls + self.bce(ps[:, 5:], tcls)
            lobj = lobj + self.bce(p[..., 4], tobj) * balance
        lbox = lbox * self.gain_box
        lobj = lobj * self.gain_obj
        lcls = lcls * self.gain_cls
        return lbox + lobj + lcls, torch.stack((lbox, lobj, lcls)).detach()

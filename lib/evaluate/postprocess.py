"""From raw network output and loader targets to per-image pixel boxes.

``non_max_suppression`` follows YOLOv5 ``utils/general.py`` with
``multi_label=False``: a box survives if its objectness and its score

    conf = obj * max_c p(c)

both exceed ``conf_thres``; it keeps only that single best class; then
class-aware NMS (``torchvision.ops.batched_nms``, boxes of different classes
never suppress each other) keeps at most ``max_det`` boxes per image.
"""

from __future__ import annotations

import torch
from torch import Tensor
from torchvision.ops import batched_nms, box_convert

MAX_NMS = 30_000  # YOLOv5: boxes entering NMS per image, highest conf first


def non_max_suppression(
    decoded: Tensor,
    conf_thres: float = 0.001,
    iou_thres: float = 0.6,
    max_det: int = 100,
) -> list[Tensor]:
    """Per-image detections from decoded YOLOv5 output.

    Args:
        decoded: (B, N, 5 + nc) rows ``[cx, cy, w, h, obj, p_1..p_nc]``, boxes
            in pixels, probabilities already sigmoided.
        conf_thres: minimum objectness and minimum ``obj * p(best class)``.
        iou_thres: NMS IoU threshold (a box is suppressed when its IoU with a
            higher-scoring box of the same class is > ``iou_thres``).
        max_det: detections kept per image.

    Returns:
        B tensors (n, 6) of ``[x1, y1, x2, y2, conf, cls]``, sorted by
        descending ``conf``; ``cls`` is a float class index.
    """
    out = []
    for x in decoded:
        x = x[x[:, 4] > conf_thres]
        if x.shape[0] == 0:
            out.append(x.new_zeros((0, 6)))
            continue
        conf, cls = (x[:, 5:] * x[:, 4:5]).max(1)
        keep = conf > conf_thres
        boxes = box_convert(x[keep, :4], in_fmt="cxcywh", out_fmt="xyxy")
        conf, cls = conf[keep], cls[keep]
        order = conf.argsort(descending=True)[:MAX_NMS]
        boxes, conf, cls = boxes[order], conf[order], cls[order]
        i = batched_nms(boxes.float(), conf.float(), cls, iou_thres)[:max_det]
        out.append(torch.cat([boxes[i], conf[i, None], cls[i, None].to(boxes.dtype)], 1))
    return out


def targets_to_xyxy(targets: Tensor, batch_size: int, imgsz: int) -> list[Tensor]:
    """Split loader targets per image and scale them to pixel corners.

    Args:
        targets: (N, 6) rows ``[image_index, cls, cx, cy, w, h]``, box
            normalised to the ``imgsz`` x ``imgsz`` input.
        batch_size: number of images B (images without targets get an
            empty tensor).
        imgsz: side S of the square input in pixels.

    Returns:
        B tensors (m, 5) of ``[cls, x1, y1, x2, y2]`` in pixels.
    """
    targets = targets.float()
    boxes = box_convert(targets[:, 2:6] * imgsz, in_fmt="cxcywh", out_fmt="xyxy")
    rows = torch.cat([targets[:, 1:2], boxes], 1)
    image = targets[:, 0].long()
    return [rows[image == b] for b in range(batch_size)]

"""A YOLOv5 checkpoint in the released layout, built without the yolov5 source: ``released_checkpoint``.

The file is what YOLOv5's ``strip_optimizer`` writes: ``torch.save`` of a dict whose ``model`` is the whole fp16
``models.yolo.DetectionModel`` object, layers ``model.0`` to ``model.24``, with the classes pickled under YOLOv5's
module names (``models.common.C3``, ``models.yolo.Detect`` ...). Those classes come from a temporary package
``models`` (empty ``nn.Module`` subclasses) put on ``sys.path`` only while saving and removed from ``sys.path``
and ``sys.modules`` afterwards, so a loader that reads the file proves it needs no yolov5 source. The tensors are
this project's own network at the scale (random weights and BatchNorm statistics) re-parented into YOLOv5's
layer order; the returned source network (float32, with the fp16-rounded values the file holds) is the
reference a transfer is compared with.
"""
from __future__ import annotations

import importlib
import sys
from pathlib import Path

import torch
from torch import nn

from lib.models import YOLODetector, default_anchors
from lib.models import blocks

PACKAGE = {
    "__init__.py": "",
    "common.py": "from torch import nn\n" + "".join(
        f"class {c}(nn.Module):\n    pass\n" for c in ("Conv", "Bottleneck", "C3", "SPPF", "Concat")),
    "yolo.py": "from torch import nn\nclass Detect(nn.Module):\n    pass\nclass DetectionModel(nn.Module):\n    pass\n",
}


def _new(cls):
    m = cls.__new__(cls)
    nn.Module.__init__(m)
    return m


def _yolov5_tree(module: nn.Module, common) -> nn.Module:
    """``module`` with this project's blocks replaced by the stand-in package's classes (children re-parented)."""
    kind = {blocks.Conv: common.Conv, blocks.C3: common.C3, blocks.Bottleneck: common.Bottleneck,
            blocks.SPPF: common.SPPF}.get(type(module))
    out = module if kind is None else _new(kind)
    for name, child in list(module.named_children()):
        out._modules[name] = _yolov5_tree(child, common)
    return out


def layers_of(net: YOLODetector) -> list[nn.Module]:
    """``net``'s modules in YOLOv5's layer order 0..23 (None for the Upsample and Concat layers)."""
    b, f, p = net.backbone, net.fpn, net.pan
    return [b.stem, *b.stage2, *b.stage3, *b.stage4, *b.stage5, f.lat5, None, None, f.c3_p4, f.lat4, None, None,
            f.out, p.down3, None, p.c3_p4, p.down4, None, p.c3_p5]


def released_checkpoint(path: Path, scale: str, nc: int = 80, seed: int = 0) -> YOLODetector:
    """Write a released-layout checkpoint of ``scale`` with ``nc`` classes to ``path``; the source network."""
    torch.manual_seed(seed)
    src = YOLODetector(nc, default_anchors(640), scale)
    with torch.no_grad():
        for m in src.modules():
            if isinstance(m, nn.BatchNorm2d):  # statistics and affine parameters that a transfer must carry
                m.running_mean.normal_(0, 0.1), m.running_var.uniform_(0.5, 1.5)
                m.weight.normal_(1, 0.1), m.bias.normal_(0, 0.1)
                m.num_batches_tracked.fill_(1234)
    src = src.half().float().eval()  # the file's values, in float32
    pkg = path.parent / f"yolov5-src-{path.stem}"
    (pkg / "models").mkdir(parents=True, exist_ok=True)
    for name, text in PACKAGE.items():
        (pkg / "models" / name).write_text(text)
    sys.path.insert(0, str(pkg))
    try:
        common, yolo = importlib.import_module("models.common"), importlib.import_module("models.yolo")
        copy = YOLODetector(nc, default_anchors(640), scale)
        copy.load_state_dict(src.state_dict())
        layers = [_yolov5_tree(m, common) if m is not None else
                  (nn.Upsample(None, 2, "nearest") if i in (11, 15) else _new(common.Concat))
                  for i, m in enumerate(layers_of(copy))]
        detect = _new(yolo.Detect)
        detect.nc, detect.no, detect.nl, detect.na = nc, nc + 5, 3, 3
        detect.m = copy.detect.m
        detect.register_buffer("anchors", copy.detect.anchors / copy.detect.stride.view(-1, 1, 1))
        detect.stride = torch.tensor([8.0, 16.0, 32.0])
        model = _new(yolo.DetectionModel)
        model.model = nn.Sequential(*layers, detect)
        model.names = [f"class{i}" for i in range(nc)]
        model.yaml = {"nc": nc, "depth_multiple": 0.33, "width_multiple": 0.5}
        model.stride = detect.stride
        model.half()
        for p in model.parameters():
            p.requires_grad = False
        torch.save({"epoch": -1, "best_fitness": None, "model": model, "ema": None, "updates": None,
                    "optimizer": None, "opt": {"weights": "", "imgsz": 640}, "git": {"tag": "v7.0"},
                    "date": "2026-01-01T00:00:00"}, path)
    finally:
        sys.path.remove(str(pkg))
        for name in [n for n in sys.modules if n == "models" or n.startswith("models.")]:
            del sys.modules[name]
    return src

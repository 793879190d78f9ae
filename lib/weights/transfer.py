"""YOLOv5's transfer rules: a checkpoint's tensors into this project's model, by name and shape.

YOLOv5's ``train.py --weights`` keeps the checkpoint tensors whose name and shape equal the new model's
(``intersect_dicts``), leaves out the anchors of a model whose anchors are rebuilt, and prints ``Transferred X/Y
items``. Here the same, after one renaming: YOLOv5 numbers its layers ``model.N.*`` (``yolov5s.yaml``), this
project names them (``lib.models.yolo``); ``YOLOV5_LAYERS`` is the table (the Upsample and Concat layers 11, 12,
15, 16, 19, 22 hold no tensors). Sub-module names inside a layer (``cv1``, ``m.0.cv2``, ``conv``, ``bn``) are
YOLOv5's own in both.

What takes nothing from a detection checkpoint: the view head (``classify``) of the shared and detached models,
and the view network (``classifier``) of the dual backbone, whose detector takes the checkpoint. Detect's
convolutions have ``na * (5 + nc)`` outputs, so with another ``nc`` their shapes differ and they are left out (the
message says so). The anchors are always left out: this model's are fit to the data (``--anchors``).
"""
from __future__ import annotations

import torch

# YOLOv5 layer number -> this project's module (models.yolo: Backbone, FPN, PAN, Detect)
YOLOV5_LAYERS = {
    0: "backbone.stem", 1: "backbone.stage2.0", 2: "backbone.stage2.1", 3: "backbone.stage3.0",
    4: "backbone.stage3.1", 5: "backbone.stage4.0", 6: "backbone.stage4.1", 7: "backbone.stage5.0",
    8: "backbone.stage5.1", 9: "backbone.stage5.2", 10: "fpn.lat5", 13: "fpn.c3_p4", 14: "fpn.lat4", 17: "fpn.out",
    18: "pan.down3", 20: "pan.c3_p4", 21: "pan.down4", 23: "pan.c3_p5", 24: "detect",
}
DETECTOR = ("backbone.", "fpn.", "pan.", "detect.")
STEM_SCALES = {8: "p", 16: "n", 32: "s", 48: "m", 64: "l", 80: "x"}  # output channels of layer 0 -> scale


class WeightsError(ValueError):
    """A ``--weights`` file that cannot be used here: one line, starting with its path."""


def project_name(yolov5_key: str) -> str | None:
    """``model.4.m.0.cv1.conv.weight`` -> ``backbone.stage3.1.m.0.cv1.conv.weight``; None for an unknown layer."""
    parts = yolov5_key.split(".", 2)
    if len(parts) < 3 or parts[0] != "model" or not parts[1].isdigit() or int(parts[1]) not in YOLOV5_LAYERS:
        return None
    return f"{YOLOV5_LAYERS[int(parts[1])]}.{parts[2]}"


def canonical(state: dict[str, torch.Tensor], source: str) -> dict[str, torch.Tensor]:
    """A checkpoint's tensors under the shared model's names: YOLOv5 keys renamed, a dual run's ``detector.`` and
    its ``classifier.`` (the view network: kept as it is, only a dual model takes it) as they are."""
    out = {}
    for key, t in state.items():
        name = project_name(key) if source == "yolov5" else key
        if name is not None:
            out[name.removeprefix("detector.")] = t
    return out


def model_name(name: str, dual: bool) -> str:
    return f"detector.{name}" if dual and name.startswith(DETECTOR) else name


def _stem_scale(state: dict[str, torch.Tensor], target: dict[str, torch.Tensor], dual: bool) -> str:
    w, mine = state.get("backbone.stem.conv.weight"), target[model_name("backbone.stem.conv.weight", dual)]
    if w is None:
        return ""
    said = {c: f"{c} channels (scale {STEM_SCALES.get(c, '?')})" for c in (w.shape[0], mine.shape[0])}
    return f"; its layer 0 has {said[w.shape[0]]}, this model's {said[mine.shape[0]]}"


def transfer(model: torch.nn.Module, state: dict[str, torch.Tensor], source: str, meta: dict, path) -> str:
    """Copy ``state`` (a checkpoint's tensors, ``source`` ``yolov5`` or ``project``) into ``model`` in place;
    the line to print. ``WeightsError`` when the backbone does not transfer whole."""
    dual = hasattr(model, "detector")
    target = model.state_dict()
    given = canonical(state, source)
    taken, shape_differs = {}, []
    for name, t in given.items():
        mine = model_name(name, dual)
        if name.endswith("detect.anchors") or mine not in target:
            continue
        if target[mine].shape != t.shape:
            shape_differs.append(name)
            continue
        taken[mine] = t.to(target[mine].dtype)
    backbone = [k for k in target if k.removeprefix("detector.").startswith("backbone.")]
    got = sum(k in taken for k in backbone)
    if got < len(backbone):
        raise WeightsError(f"{path}: the backbone does not transfer: {got}/{len(backbone)} of this model's backbone "
                           f"tensors match the file by name and shape{_stem_scale(given, target, dual)}: give a "
                           f"checkpoint of the model's --scale")
    model.load_state_dict(taken, strict=False)
    return f"transferred {len(taken)}/{len(target)} tensors from {path} (left out: {_left_out(model, given, shape_differs, meta, dual)})"


def _left_out(model, given, shape_differs, meta, dual) -> str:
    parts = []
    det = [k for k in shape_differs if k.startswith("detect.m.")]
    if det:
        mine = getattr(getattr(model, "detect", None), "nc", "?")
        parts.append(f"{len(det)} Detect class-dependent conv tensors (detect.m.*: the file has nc={meta.get('nc')}, "
                     f"this model nc={mine}, so their shapes differ)")
    other = [k for k in shape_differs if k not in det]
    if other:
        parts.append(f"{len(other)} tensors whose shapes differ ({', '.join(other[:3])}{' ...' if len(other) > 3 else ''})")
    if "detect.anchors" in given:
        parts.append("the anchors (this model's are fit to the data)")
    if dual:
        taken_view = any(k.startswith("classifier.") for k in given)
        parts.append("the view network (classifier) takes " + ("the file's view network" if taken_view else
                     "nothing: the detector alone takes a detection checkpoint"))
    elif getattr(model, "classify", None) is not None and not any(k.startswith("classify.") for k in given):
        parts.append("the view head (classify) takes nothing from a detection checkpoint")
    if getattr(model, "detect", None) is None and any(k.startswith(("pan.", "detect.")) for k in given):
        parts.append("PAN and Detect (this view-only model has none)")
    return "; ".join(parts) or "nothing"

"""``model.pt``: a trained model in one file that rebuilds it without its run folder.

Format 2 (``FORMAT_VERSION``), written by ``save_run``: one dict of plain values and tensors, so
``torch.load(path, weights_only=True)`` reads it (no pickled code runs)::

    format           "echo-mtl model"
    format_version   2
    project_version  ``lib.__version__`` of the writer, e.g. "0.1.0"
    model_kind       shared | detached | dual  (``lib.models.build_model``)
    scale, tasks     YOLOv5 width/depth (p, n, s, m, l); ("det", "view") or one of them
    imgsz            the letterboxed square side it was trained at, pixels
    names            detection class names, in class-index order
    view_names       view names, in view-index order
    anchors          float32 (levels, anchors per level, 2), pixels at ``imgsz``
    model            the state dict (BatchNorm statistics as last evaluated)
    config           the run's ``TrainConfig`` as JSON, for provenance

Format 1 (run folders written before format 2) held only ``model``, ``anchors``, ``names`` and
``view_names``; it still loads when the run's ``config.json`` lies beside it. A file of a later format,
or not a model file at all, raises ``ModelFileError``: one line naming the file and what to do.
"""
from __future__ import annotations

import json
import pickle
from dataclasses import dataclass
from pathlib import Path

import torch

from .. import __version__
from ..config import TrainConfig

FORMAT = "echo-mtl model"
FORMAT_VERSION = 2
READABLE = (1, 2)


class ModelFileError(ValueError):
    """A model file that cannot be used: the message starts with its path."""


@dataclass
class ModelFile:
    """A rebuilt model (eval mode, on the requested device) and what it was trained for."""

    model: torch.nn.Module
    kind: str
    scale: str
    tasks: tuple[str, ...]
    imgsz: int
    names: list[str]
    view_names: list[str]
    project_version: str       # "unknown" for a format-1 file
    format_version: int
    path: Path


def model_payload(model: torch.nn.Module, cfg: TrainConfig, names, view_names) -> dict:
    """The format-2 dict of a trained ``model`` of configuration ``cfg``; ``torch.save`` it."""
    detect = getattr(model, "detect", None)
    anchors = detect.anchors.detach().cpu() if detect is not None else torch.zeros(3, 3, 2)
    return {"format": FORMAT, "format_version": FORMAT_VERSION, "project_version": __version__,
            "model_kind": cfg.model, "scale": cfg.scale, "tasks": list(cfg.tasks), "imgsz": cfg.imgsz,
            "names": list(names), "view_names": list(view_names), "anchors": anchors,
            "model": model.state_dict(), "config": cfg.to_json()}


def weights_path(weights: str | Path) -> Path:
    """``RUN_DIR`` -> ``RUN_DIR/model.pt``; a file path as it is."""
    p = Path(weights)
    return p / "model.pt" if p.is_dir() else p


def _read(path: Path) -> dict:
    if not path.is_file():
        raise ModelFileError(f"{path}: model file not found (give a run folder or its model.pt)")
    try:
        state = torch.load(path, map_location="cpu", weights_only=True)
    except (pickle.UnpicklingError, RuntimeError, EOFError, OSError, ValueError) as e:
        raise ModelFileError(f"{path}: not an echo-mtl model file: torch.load(weights_only=True) cannot read it "
                             f"({type(e).__name__}; a pickled object, another program's file, or a damaged one)"
                             ) from None
    if not isinstance(state, dict) or "model" not in state or "names" not in state:
        raise ModelFileError(f"{path}: not an echo-mtl model file (no weights and class names in it)")
    return state


def _format_1(path: Path, state: dict) -> dict:
    """The fields format 2 adds, from the ``config.json`` of the run folder the file lies in."""
    cfg_path = path.parent / "config.json"
    if not cfg_path.is_file():
        raise ModelFileError(f"{path}: a model file of format 1 (written before echo-mtl 0.1.0's format 2) needs "
                             f"the config.json of its run folder beside it; none at {cfg_path}")
    try:
        cfg = TrainConfig.from_dict(json.loads(cfg_path.read_text()))
    except ValueError as e:
        raise ModelFileError(f"{cfg_path}: cannot rebuild the model of {path.name} from it ({e})") from None
    return {**state, "model_kind": cfg.model, "scale": cfg.scale, "tasks": list(cfg.tasks), "imgsz": cfg.imgsz,
            "project_version": "unknown", "format_version": 1}


def load_model_file(weights: str | Path, device: str | torch.device = "cpu") -> ModelFile:
    """Rebuild the model saved at ``weights`` (a run folder or a ``model.pt``), in eval mode on ``device``.

    Raises ``ModelFileError`` (one line, naming the file) for: a missing file, a file torch cannot read
    with ``weights_only=True``, a file without weights and names, a format this version does not read
    (``READABLE``; a later echo-mtl wrote it), a format-1 file without its ``config.json``, or weights
    that do not fit the model they describe.
    """
    from ..models import build_model

    path = weights_path(weights)
    state = _read(path)
    version = state.get("format_version", 1)
    if state.get("format", FORMAT) != FORMAT:
        raise ModelFileError(f"{path}: not an echo-mtl model file (its format field is {state['format']!r}, "
                             f"not {FORMAT!r})")
    if version not in READABLE:
        raise ModelFileError(f"{path}: model file format {version} (written by echo-mtl "
                             f"{state.get('project_version', 'unknown')}); this echo-mtl {__version__} reads formats "
                             f"{', '.join(map(str, READABLE))}: use the version that wrote it, or retrain")
    if version == 1:
        state = _format_1(path, state)
    tasks = tuple(state["tasks"])
    try:
        model = build_model(state["model_kind"], len(state["names"]), len(state["view_names"]), state["anchors"],
                            state["scale"], tasks)
        model.load_state_dict(state["model"])
    except (RuntimeError, ValueError, KeyError) as e:
        lines = [x.strip() for x in str(e).strip().splitlines() if x.strip() and not x.strip().endswith(":")]
        first = lines[0] if lines else type(e).__name__
        raise ModelFileError(f"{path}: the weights do not fit a {state['model_kind']}/{state['scale']} model "
                             f"({first[:200]})") from None
    names, view_names = list(state["names"]), list(state["view_names"])
    model.names, model.view_names = names, view_names
    return ModelFile(model.to(device).eval(), state["model_kind"], state["scale"], tasks, int(state["imgsz"]),
                     names, view_names, str(state["project_version"]), int(version), path)

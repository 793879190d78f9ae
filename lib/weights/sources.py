"""What ``--weights PATH`` reads, and the fingerprint of its bytes that goes into the run key.

Four sources, told apart by content, not by name:
  - a safetensors file (its 8-byte header length and JSON header): read with no unpickling at all;
  - this project's ``model.pt`` (``lib.store.model_file``), or a run folder holding one: fine-tuning from a run;
  - a plain state dict (``torch.save(model.state_dict())``, YOLOv5's ``model.N.*`` names or this project's);
  - a released Ultralytics YOLOv5 checkpoint (the pickled model object): through ``lib.weights.unpickle``'s
    restricted unpickler, which runs nothing from the file.
The first three load with ``torch.load(weights_only=True)`` or safetensors; only a file that ``weights_only``
refuses reaches the restricted unpickler.
"""
from __future__ import annotations

import hashlib
import json
import pickle
import sys
from pathlib import Path

import torch

from .transfer import WeightsError, transfer
from .unpickle import RefusedGlobal, read_released

PROJECT_FORMAT = "echo-mtl model"  # lib.store.model_file.FORMAT


def weights_file(path: str | Path) -> Path:
    """A run folder -> its ``model.pt``; a file as it is; ``WeightsError`` when there is none."""
    p = Path(path).expanduser()
    f = p / "model.pt" if p.is_dir() else p
    if not f.is_file():
        raise WeightsError(f"{path}: --weights file not found (give a YOLOv5 .pt, a state dict, a .safetensors, "
                           f"or a run folder or its model.pt)")
    return f


_digests: dict[tuple, str] = {}


def weights_fingerprint(path: str | Path) -> str:
    """``sha256:<hex>`` of the file's bytes: the same file anywhere, the same run key; another file, another key."""
    f = weights_file(path).resolve()
    stat = f.stat()
    key = (str(f), stat.st_size, stat.st_mtime_ns)
    if key not in _digests:
        h = hashlib.sha256()
        with open(f, "rb") as fh:
            for block in iter(lambda: fh.read(1 << 20), b""):
                h.update(block)
        _digests[key] = "sha256:" + h.hexdigest()
    return _digests[key]


def is_safetensors(f: Path) -> bool:
    with open(f, "rb") as fh:
        head = fh.read(9)
    return len(head) == 9 and head[8:9] == b"{" and int.from_bytes(head[:8], "little") < f.stat().st_size


def _naming(state: dict) -> str:
    """``yolov5`` for ``model.N.*`` keys, ``project`` for this project's module names."""
    return "yolov5" if any(k.split(".")[0] == "model" and k.split(".")[1:2] != [] and k.split(".")[1].isdigit()
                           for k in state) else "project"


def read_safetensors(f: Path) -> tuple[dict, str, dict]:
    from safetensors import safe_open

    with safe_open(str(f), framework="pt") as sf:
        meta = sf.metadata() or {}
        state = {k: sf.get_tensor(k) for k in sf.keys()}
    info = {k: json.loads(v) for k, v in meta.items() if k in ("nc", "names")}
    return state, meta.get("source") or _naming(state), info


def read_weights(path: str | Path) -> tuple[dict[str, torch.Tensor], str, dict]:
    """``(tensors, naming, meta)``: the file's tensors; ``yolov5`` or ``project`` names; ``nc`` and ``names``
    where the file says. ``WeightsError`` (one line, naming the file) for what cannot be read."""
    f = weights_file(path)
    if is_safetensors(f):
        return read_safetensors(f)
    try:
        obj = torch.load(f, map_location="cpu", weights_only=True)
    except (pickle.UnpicklingError, RuntimeError, AttributeError, TypeError):
        obj = None  # a pickled object (a released YOLOv5 checkpoint, or worse): the restricted unpickler decides
    except (EOFError, OSError, ValueError) as e:
        raise WeightsError(f"{path}: cannot read it ({type(e).__name__}: {str(e)[:120]})") from None
    if isinstance(obj, dict) and obj.get("format") == PROJECT_FORMAT:
        return dict(obj["model"]), "project", {"nc": len(obj["names"]), "names": list(obj["names"])}
    if isinstance(obj, dict) and obj and all(isinstance(v, torch.Tensor) for v in obj.values()):
        return obj, _naming(obj), {}
    if obj is not None:
        raise WeightsError(f"{path}: neither a model checkpoint nor a state dict (a {type(obj).__name__} of "
                           f"{len(obj) if hasattr(obj, '__len__') else '?'} items)")
    try:
        state, meta = read_released(f)
    except RefusedGlobal as e:
        raise WeightsError(f"{path}: {e}") from None
    except (pickle.UnpicklingError, RuntimeError, AttributeError, TypeError, ValueError) as e:
        raise WeightsError(f"{path}: not a readable checkpoint ({type(e).__name__}: {str(e)[:160]})") from None
    return state, "yolov5", meta


def load_weights(model: torch.nn.Module, path: str | Path, announce: bool = True) -> str:
    """Transfer the file at ``path`` into ``model`` (YOLOv5's rules, ``lib.weights.transfer``); returns the line
    ``transferred X/Y tensors from PATH (left out: ...)``, printed to stderr with ``announce``."""
    state, naming, meta = read_weights(path)
    line = transfer(model, state, naming, meta, path)
    if announce:
        print(line, file=sys.stderr)
    return line

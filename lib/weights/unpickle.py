"""Read a released Ultralytics YOLOv5 checkpoint without its source and without running code from the file.

A released ``yolov5s.pt`` is ``torch.save`` of a dict (``epoch``, ``best_fitness``, ``model``, ``ema``, ``updates``,
``optimizer``, ``opt``, ``git``, ``date``) whose ``model`` is the whole ``models.yolo.DetectionModel`` object in
fp16, as YOLOv5's ``strip_optimizer`` writes it. Unpickling it the ordinary way imports ``models.yolo`` (the yolov5
source) and would call whatever callable the file names. ``read_released`` instead passes ``torch.load`` a pickle
module whose ``Unpickler.find_class`` decides every global the file names:

Accepted (``ALLOWED``, data only, the same kind of entries torch's own ``weights_only`` unpickler allows):
  - tensor and parameter rebuilding: ``torch._utils._rebuild_tensor_v2``, ``torch._utils._rebuild_parameter``,
    ``torch._utils._rebuild_parameter_with_state``, ``torch._tensor._rebuild_from_type_v2``,
    ``torch.nn.parameter.Parameter``, ``torch.Tensor``, ``torch.Size``; the storages themselves arrive through torch's
    own ``persistent_load`` and storage types (``torch.HalfStorage`` ...), which torch resolves before this class;
  - dtypes (``torch.float16`` ..., any attribute of ``torch`` that is a ``torch.dtype``);
  - containers: ``collections.OrderedDict``, ``builtins.set``, ``builtins.frozenset``, ``builtins.list``,
    ``builtins.dict``, ``builtins.tuple``, ``builtins.slice``, ``builtins.complex``; ``_codecs.encode`` (how pickle
    protocol 2 writes bytes); numpy's scalar and array reconstruction (``numpy.core.multiarray.scalar``,
    ``numpy.dtype``, ``numpy.ndarray``, ``numpy.core.multiarray._reconstruct``, and their ``numpy._core`` names).
Stood in for (``STAND_IN``): any class under ``models.``, ``utils.`` or ``torch.nn.modules.`` (YOLOv5's
``DetectionModel``, ``Conv``, ``C3``, ``SPPF``, ``Detect``; torch's ``Conv2d``, ``BatchNorm2d``, ``Sequential``
...). The class is not imported: a fresh ``StandIn`` subclass of that name is made, whose ``__setstate__`` only
records the pickled attributes (``_parameters``, ``_buffers``, ``_modules``, ``nc``, ``names`` ...). A stand-in
has no ``__reduce__`` or ``__call__`` of its own, so the file cannot run one: pickle can only create it
(``__new__``) and fill its ``__dict__``; ``state_dict_of`` then walks the recorded tree for the tensors.
Refused: every other global (``os.system``, ``posix.system``, ``builtins.eval``, ``builtins.exec``,
``builtins.getattr``, ``subprocess.Popen``, ``torch.load`` ...) raises ``RefusedGlobal`` naming it, before it is
called; nothing from the file has run by then, and nothing after it runs either.

``python -m lib.weights convert`` reads a checkpoint this way once and writes safetensors, which loads with no
unpickling at all.
"""
from __future__ import annotations

import _compat_pickle
import collections
import pickle
import types
from pathlib import Path

import torch

STAND_IN = ("models.", "utils.", "torch.nn.modules.")


class RefusedGlobal(pickle.UnpicklingError):
    """The file names a callable outside the allow-list; the message names it."""


def _allowed() -> dict[str, object]:
    import _codecs
    import torch._tensor
    import torch._utils

    out = {"collections.OrderedDict": collections.OrderedDict, "_codecs.encode": _codecs.encode,
           "torch.Size": torch.Size, "torch.Tensor": torch.Tensor,
           "torch.nn.parameter.Parameter": torch.nn.Parameter}
    out.update({f"builtins.{t.__name__}": t for t in (set, frozenset, list, dict, tuple, slice, complex)})
    for name in ("_rebuild_tensor_v2", "_rebuild_parameter", "_rebuild_parameter_with_state"):
        if hasattr(torch._utils, name):
            out[f"torch._utils.{name}"] = getattr(torch._utils, name)
    if hasattr(torch._tensor, "_rebuild_from_type_v2"):
        out["torch._tensor._rebuild_from_type_v2"] = torch._tensor._rebuild_from_type_v2
    out.update({f"torch.{n}": v for n in dir(torch) if isinstance(v := getattr(torch, n, None), torch.dtype)})
    try:
        import numpy as np
        try:
            from numpy._core import multiarray  # numpy >= 2
        except ImportError:
            from numpy.core import multiarray
        for mod in ("numpy.core.multiarray", "numpy._core.multiarray"):
            out[f"{mod}.scalar"], out[f"{mod}._reconstruct"] = multiarray.scalar, multiarray._reconstruct
        out["numpy.dtype"], out["numpy.ndarray"] = np.dtype, np.ndarray
    except ImportError:  # numpy absent or renamed: its objects are refused like any other
        pass
    return out


ALLOWED = _allowed()


class StandIn:
    """Stands in for a pickled class of the yolov5 source or of ``torch.nn``: records the pickled attributes only."""

    qualname = "StandIn"

    def __setstate__(self, state):
        if isinstance(state, tuple) and len(state) == 2:  # (dict, slots) when a class has __slots__
            state = {**(state[0] or {}), **(state[1] or {})}
        self.__dict__.update(state if isinstance(state, dict) else {"_state": state})

    def __repr__(self) -> str:
        return f"<stand-in for {self.qualname}>"


_stand_ins: dict[str, type] = {}


def stand_in(module: str, name: str) -> type:
    key = f"{module}.{name}"
    if key not in _stand_ins:
        _stand_ins[key] = type(name, (StandIn,), {"qualname": key, "__module__": __name__})
    return _stand_ins[key]


class RestrictedUnpickler(pickle.Unpickler):
    """``find_class`` of the allow-list and the stand-ins; everything else raises ``RefusedGlobal``."""

    def find_class(self, module: str, name: str):
        # protocol 2 writes Python 2 names (__builtin__.set); map them as pickle's own find_class does
        module, name = _compat_pickle.NAME_MAPPING.get((module, name), (module, name))
        module = _compat_pickle.IMPORT_MAPPING.get(module, module)
        key = f"{module}.{name}"
        if key in ALLOWED:
            return ALLOWED[key]
        if module.startswith(STAND_IN) and name.isidentifier() and name[:1].isupper():
            return stand_in(module, name)  # a class name (CamelCase) of the model's namespaces
        raise RefusedGlobal(f"refused to load {key}: not a tensor, container or module class this loader allows "
                            f"(lib.weights.unpickle: ALLOWED and STAND_IN)")


# what torch.load(pickle_module=...) needs: an Unpickler (and load, for torch's legacy non-zip format)
restricted_pickle = types.SimpleNamespace(
    Unpickler=RestrictedUnpickler, UnpicklingError=pickle.UnpicklingError,
    load=lambda f, **kw: RestrictedUnpickler(f, **kw).load(), __name__="lib.weights.unpickle.restricted_pickle")


def load_restricted(path: str | Path):
    """``torch.load`` of ``path`` through ``RestrictedUnpickler`` (CPU tensors; classes stood in for)."""
    return torch.load(path, map_location="cpu", pickle_module=restricted_pickle, weights_only=False)


def _dict_of(obj) -> dict:
    return obj.__dict__ if isinstance(obj, StandIn) else {}


def state_dict_of(module, prefix: str = "") -> dict[str, torch.Tensor]:
    """The persistent parameters and buffers of a stood-in module tree, under ``nn.Module.state_dict`` names."""
    d = _dict_of(module)
    out = {}
    skip = set(d.get("_non_persistent_buffers_set") or ())
    for name, t in list((d.get("_parameters") or {}).items()) + list((d.get("_buffers") or {}).items()):
        if isinstance(t, torch.Tensor) and name not in skip:
            out[prefix + name] = t.detach()
    for name, child in (d.get("_modules") or {}).items():
        if child is not None:
            out.update(state_dict_of(child, f"{prefix}{name}."))
    return out


def find_detect(module):
    """The stood-in ``Detect`` of a YOLOv5 model (its last layer), or None."""
    layers = _dict_of(_dict_of(module).get("_modules", {}).get("model"))
    last = list((layers.get("_modules") or {}).values())[-1:] if layers else []
    return last[0] if last and "nc" in _dict_of(last[0]) else None


def read_released(path: str | Path) -> tuple[dict[str, torch.Tensor], dict]:
    """A released YOLOv5 checkpoint's tensors under YOLOv5's names (``model.0.conv.weight`` ...), and its metadata
    (``nc``, ``names``); ``RefusedGlobal`` for a file that names anything outside the allow-list."""
    ckpt = load_restricted(path)
    root = ckpt.get("ema") or ckpt.get("model") if isinstance(ckpt, dict) else None
    if not isinstance(root, StandIn):
        raise ValueError(f"{path}: not a YOLOv5 checkpoint (no pickled model object under 'model')")
    state = state_dict_of(root)
    detect = find_detect(root)
    nc = _dict_of(detect).get("nc") if detect is not None else None
    names = _dict_of(root).get("names")
    if isinstance(names, dict):  # YOLOv5 >= 7 may keep {index: name}
        names = [names[k] for k in sorted(names)]
    return state, {"nc": nc, "names": list(names) if names is not None else None, "format": "yolov5"}

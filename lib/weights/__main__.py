"""python -m lib.weights convert IN.pt OUT.safetensors: a checkpoint read once, written as safetensors.

IN is anything ``--weights`` reads (a released YOLOv5 ``.pt`` goes through the restricted unpickler,
``lib.weights.unpickle``). OUT keeps IN's tensor names (YOLOv5's ``model.N.*`` for a YOLOv5 file: a faithful
conversion) and dtypes, and its metadata holds ``source`` (``yolov5`` or ``project``), ``nc`` and ``names``
(JSON). ``--weights OUT.safetensors`` then loads it with no unpickling at all. A bad file is one line, exit 2.
"""
from __future__ import annotations

import argparse
import json
import sys
from pathlib import Path

from .sources import read_weights
from .transfer import WeightsError


def convert(src: str | Path, dst: str | Path) -> Path:
    """Write ``src``'s tensors and metadata to the safetensors file ``dst``; returns ``dst``."""
    from safetensors.torch import save_file

    state, naming, meta = read_weights(src)
    metadata = {"source": naming, **{k: json.dumps(meta[k]) for k in ("nc", "names") if meta.get(k) is not None}}
    dst = Path(dst)
    dst.parent.mkdir(parents=True, exist_ok=True)
    save_file({k: v.contiguous() for k, v in state.items()}, str(dst), metadata=metadata)
    return dst


def main(argv: list[str] | None = None) -> int:
    p = argparse.ArgumentParser(prog="python -m lib.weights", description=__doc__.split("\n\n")[0])
    sub = p.add_subparsers(dest="command", required=True)
    c = sub.add_parser("convert", help="convert a checkpoint to safetensors")
    c.add_argument("src", help="a YOLOv5 .pt, a state dict, or a run folder or model.pt of this project")
    c.add_argument("dst", help="the .safetensors file to write")
    args = p.parse_args(argv)
    try:
        out = convert(args.src, args.dst)
    except WeightsError as e:
        print(f"error: {e}", file=sys.stderr)
        return 2
    print(f"wrote {out}")
    return 0


if __name__ == "__main__":
    sys.exit(main())

"""Frames per second of `python -m lib.predict` on this machine, at the report's size and at YOLOv5's.

    python -m benchmarks.predict_speed          # writes reports/bench/predict_speed.csv and its docs page

The command runs in-process on synthetic frames (192x144 PNG files in a folder, and the same frames as one
MP4 when PyAV is installed), from an untrained model file of each scale: the speed of the network does not
depend on its weights, but the number of boxes NMS sees does, so the table gives the boxes per frame too.
Frames per second is the command's own figure: first frame to last file written (decoding, letterbox,
network, NMS, label files, CSVs), without loading the model or starting Python. Every run at ``--conf 0.25``
(YOLOv5 detect's), batch 8, on the CPU with torch's thread count as the table says.
"""
from __future__ import annotations

import contextlib
import io
import json
import tempfile
from pathlib import Path

import numpy as np
import pandas as pd
import torch
from PIL import Image

from lib.config import TrainConfig
from lib.models import build_model, default_anchors
from lib.predict import main as predict
from lib.store.atomic import torch_save
from lib.store.model_file import model_payload

from .common import write

CASES = (("p", 128), ("p", 640), ("s", 640))  # (scale, imgsz): the report's model, and YOLOv5s at its size
NAMES, VIEWS = ["AR", "MR", "PR", "TR"], ["PSAX", "PLAX", "A4C"]


def model_file(folder: Path, scale: str, imgsz: int) -> Path:
    torch.manual_seed(0)
    model = build_model("shared", len(NAMES), len(VIEWS), default_anchors(imgsz), scale).eval()
    path = folder / f"{scale}-{imgsz}.pt"
    torch_save(model_payload(model, TrainConfig(scale=scale, imgsz=imgsz), NAMES, VIEWS), path)
    return path


def frames(folder: Path, n: int) -> list[np.ndarray]:
    """``n`` noisy 192x144 frames saved as PNG files in ``folder`` (returned as arrays for the video)."""
    folder.mkdir(parents=True)
    rng = np.random.default_rng(0)
    out = []
    for i in range(n):
        rgb = rng.integers(0, 255, (144, 192, 3), dtype=np.uint8)
        Image.fromarray(rgb).save(folder / f"P001-1.mp4-{i}.png")
        out.append(rgb)
    return out


def video(path: Path, rgbs: list[np.ndarray]) -> Path | None:
    try:
        import av
    except ImportError:
        return None
    with av.open(str(path), "w") as container:
        stream = container.add_stream("mpeg4", rate=25)
        stream.width, stream.height, stream.pix_fmt = 192, 144, "yuv420p"
        for rgb in rgbs:
            container.mux(stream.encode(av.VideoFrame.from_ndarray(rgb, format="rgb24")))
        container.mux(stream.encode())
    return path


def once(weights: Path, source: Path, imgsz: int, out: Path) -> dict:
    stdout = io.StringIO()
    with contextlib.redirect_stdout(stdout), contextlib.redirect_stderr(io.StringIO()):
        code = predict(["--weights", str(weights), "--source", str(source), "--imgsz", str(imgsz),
                        "--device", "cpu", "--out", str(out)])
    if code != 0:
        raise RuntimeError(f"predict exited {code} on {source}")
    return json.loads(stdout.getvalue().strip().splitlines()[-1])


def run(n_frames: int = 96, repeats: int = 3) -> pd.DataFrame:
    rows = []
    with tempfile.TemporaryDirectory() as tmp:
        tmp = Path(tmp)
        rgbs = frames(tmp / "frames", n_frames)
        sources = {"PNG folder": tmp / "frames", "MP4": video(tmp / "clip.mp4", rgbs)}
        for scale, imgsz in CASES:
            weights = model_file(tmp, scale, imgsz)
            for kind, source in sources.items():
                if source is None:
                    continue
                results = [once(weights, source, imgsz, tmp / f"out-{scale}-{imgsz}-{kind[:3]}-{r}")
                           for r in range(repeats)]
                fps = [r["frames_per_second"] for r in results]
                rows.append({"scale": scale, "imgsz": imgsz, "source": kind, "frames": results[0]["frames"],
                             "boxes per frame": results[0]["boxes"] / results[0]["frames"],
                             "frames/s (median)": float(np.median(fps)), "frames/s (min)": min(fps),
                             "frames/s (max)": max(fps), "repeats": repeats, "threads": torch.get_num_threads()})
    return write("predict_speed", pd.DataFrame(rows))


if __name__ == "__main__":
    import time

    from . import docs
    from .common import OUT

    started = time.time()
    run()
    print(f"page written: {docs.write_pages(docs.tables_written(OUT, since=started))}")

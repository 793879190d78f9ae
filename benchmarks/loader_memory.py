"""Memory of the training loader on a 20,000-frame split: frames in RAM, on disk or decoded per item.

The split: the synthetic benchmark's training frames linked under 20,000 names (``bench-sets/frames-20000`` under
the data root; hard links, so no pixel is stored twice on disk). For each ``cache`` a fresh process builds the
training loader (one worker, no augmentation, 128 px) and reads one epoch; the table gives the peak resident memory
of that process and of its worker (``VmHWM``; ``ru_maxrss`` of the reaped worker), the process's anonymous memory
after the epoch (``RssAnon``), beside the bytes the decoded frames would take. With ``disk`` the mapped file's
pages count as resident while they are in the page cache (the kernel takes them back under pressure), so its peak
includes them and its anonymous memory does not. Memory, not time: it can run beside other work.

    python -m benchmarks.loader_memory
"""
from __future__ import annotations

import json
import os
import resource
import subprocess
import sys

import pandas as pd

from lib.data import read_data_yaml, resolve_data, split_files
from lib.store.paths import data_root

from .common import write

FRAMES = 20_000
IMGSZ = 128


def build_set(n: int = FRAMES) -> str:
    """A data.yaml whose train split is the synthetic set's frames under ``n`` names (published whole)."""
    root = data_root() / "bench-sets" / f"frames-{n}"
    if (root / "COMPLETE").is_file():
        return str(root / "data.yaml")
    src = read_data_yaml(resolve_data(None))
    files = split_files(src, "train")
    tmp = root.with_name(f".tmp-{root.name}-{os.getpid()}")
    for sub in ("images", "labels"):
        (tmp / "train" / sub).mkdir(parents=True, exist_ok=True)
    for i in range(n):
        img, lbl = files.images[i % len(files.images)], files.labels[i % len(files.labels)]
        os.link(img, tmp / "train" / "images" / f"f{i:05d}{img.suffix}")
        os.link(lbl, tmp / "train" / "labels" / f"f{i:05d}.txt")
    names = ", ".join(src.names)
    views = ", ".join(src.view_names)
    (tmp / "data.yaml").write_text(f"path: .\ntrain: train/images\nval: train/images\nnames: [{names}]\n"
                                   f"view_names: [{views}]\n")
    (tmp / "COMPLETE").write_text("")
    os.replace(tmp, root)
    return str(root / "data.yaml")


def status_mb(key: str) -> float:
    """A memory line of ``/proc/self/status`` in MB: ``VmHWM`` (peak resident), ``RssAnon`` (resident, not backed
    by a file: what the process cannot give back without swapping)."""
    for line in open("/proc/self/status"):
        if line.startswith(f"{key}:"):
            return int(line.split()[1]) / 1024
    return float("nan")


def one(data: str, cache: str) -> dict:
    """In this process: the training loader over ``data`` with ``cache``, one epoch read; peak memory (MB)."""
    from lib.config import TrainConfig
    from lib.data import load_split, training_loader

    cfg = TrainConfig(data=data, imgsz=IMGSZ, cache=cache, workers=1)
    dataset = load_split(cfg.data, "train", IMGSZ, cache=cache)
    loader = training_loader(cfg.replace(workers=1), dataset, len(dataset), 64)
    loader.sampler.set_epoch(0)
    batches = sum(1 for _ in loader)
    anon = status_mb("RssAnon")
    del loader  # its persistent worker exits and is reaped: ru_maxrss of the children is the worker's
    import gc

    gc.collect()
    worker = resource.getrusage(resource.RUSAGE_CHILDREN).ru_maxrss / 1024
    return {"cache": dataset.cache, "frames": len(dataset), "batches": batches,
            "decoded frames (MB)": dataset.frame_bytes / 2**20, "process peak (MB)": status_mb("VmHWM"),
            "process anonymous after the epoch (MB)": anon, "worker peak (MB)": worker}


NOTE = ("Peak memory is resident memory (`VmHWM`), mapped libraries and, with `disk`, the frames file's pages in the "
        "page cache included (the kernel takes those back under pressure); anonymous memory is what the process "
        "holds of its own. With `ram` it grows by the decoded frames; with `disk` and `none` it does not.")


def run() -> pd.DataFrame:
    from lib.report.provenance import collect

    from .docs import write_page

    prov = collect()  # the code that measures, as it was when the measurement began
    data = build_set()
    rows = []
    for cache in ("ram", "disk", "none"):
        out = subprocess.run([sys.executable, "-m", "benchmarks.loader_memory", "--one", data, cache],
                             capture_output=True, text=True, check=True)
        rows.append(json.loads(out.stdout.strip().splitlines()[-1]))
    df = write("loader_memory", pd.DataFrame(rows))
    write_page("loader_memory", df, prov, "python -m benchmarks.loader_memory", NOTE)
    return df


if __name__ == "__main__":
    if sys.argv[1:2] == ["--one"]:
        print(json.dumps(one(sys.argv[2], sys.argv[3])))
    else:
        run()

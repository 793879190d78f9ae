"""Training throughput (images/s) per model at 128 and 320 px, with peak memory.

Each (model, size) runs in a fresh process so that its peak memory is its
own: peak RSS on the CPU, ``torch.cuda.max_memory_allocated`` on a GPU.
"""
from __future__ import annotations

import json
import subprocess
import sys

import pandas as pd

from .common import write

CHILD = r"""
import json, sys, time, torch
from lib.config import TrainConfig
from lib.engine.memory import PeakMemory
from lib.engine.trainer import Trainer
model, imgsz, bs, device = sys.argv[1], int(sys.argv[2]), int(sys.argv[3]), sys.argv[4]
cfg = TrainConfig(model=model, weighting="equal" if model != "shared" else "gradnorm", imgsz=imgsz, batch_size=bs,
                  interference_every=0, device=device)
t = Trainer(cfg, progress=False)
batches = [b for _, b in zip(range(16), t._loader(0))]
t.model.train()
with PeakMemory(t.device) as pm:
    for b in batches[:2]:
        t.train_step(b, 0)
    t0 = time.perf_counter()
    n = 0
    for b in batches[2:]:
        t.train_step(b, 0)
        n += len(b.views)
    secs = time.perf_counter() - t0
print(json.dumps({"images_per_second": n / secs, "peak_memory_mb": pm.peak_mb, "train_memory_mb": pm.increase_mb,
                  "device": str(t.device),
                  "gpu": torch.cuda.get_device_name(0) if t.device.type == "cuda" else None}))
"""


def run(models=("shared", "detached", "dual"), sizes=(128, 320), batch_size: int = 16, device: str = "auto"):
    rows = []
    for size in sizes:
        for m in models:
            out = subprocess.run([sys.executable, "-c", CHILD, m, str(size), str(batch_size), device],
                                 capture_output=True, text=True, check=True)
            r = json.loads(out.stdout.strip().splitlines()[-1])
            rows.append({"model": m, "imgsz": size, **r})
    df = pd.DataFrame(rows).set_index(["model", "imgsz"])
    write(f"throughput_{df['device'].iloc[0].split(':')[0]}", df)
    return df

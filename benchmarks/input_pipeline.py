"""Share of training time spent waiting for data (target: under 10 %), with and without YOLOv5's augmentation.

Measured from the loop's own clocks over real training steps of the default configuration: ``data_time`` (waiting
for the next batch) and ``step_time`` (forward, backward, update). Rows: the default recipe at 128 px (frames in
RAM, no augmentation, no workers), and at 320 px with YOLOv5's augmentation (``lib.config.YOLOV5_AUGMENTATION``)
with frames in RAM or decoded per item (``cache none``), items built by the automatic number of workers
(``TrainConfig.workers = -1``). The first step also starts the workers; the share is given with and without it.

    python -m benchmarks.input_pipeline      # alone on the machine: a wait share is a race between processes
"""
from __future__ import annotations

import time

import pandas as pd

from lib.config import YOLOV5_AUGMENTATION, TrainConfig
from lib.data import loader_workers
from lib.engine.trainer import Trainer

from .common import write

ROWS = [dict(imgsz=128), dict(imgsz=320, **YOLOV5_AUGMENTATION),
        dict(imgsz=320, cache="none", **YOLOV5_AUGMENTATION)]


def measure(cfg: TrainConfig, max_steps: int) -> dict:
    trainer = Trainer(cfg, progress=False)
    trainer.model.train()
    rows = []
    t_data = time.perf_counter()
    for batch in trainer._loader(0):
        data_time = time.perf_counter() - t_data
        rows.append({"data_time": data_time, "step_time": trainer.train_step(batch, 0)["step_time"]})
        trainer.step += 1
        if len(rows) == max_steps:
            break
        t_data = time.perf_counter()
    h = pd.DataFrame(rows)
    warm = h.iloc[1:]
    share = lambda d: d["data_time"].sum() / (d["data_time"].sum() + d["step_time"].sum())
    return {"device": trainer.device.type, "imgsz": cfg.imgsz, "augmentation": "yolov5" if cfg.augmented else "off",
            "cache": trainer.train_set.cache, "workers": loader_workers(cfg, trainer.train_set), "steps": len(h),
            "compute per step (s)": h["step_time"].median(), "data wait per step (s)": warm["data_time"].median(),
            "first step's wait (s)": h["data_time"].iloc[0], "data wait share": share(h),
            "data wait share after the first step": share(warm), "target": 0.10}


def run(device: str = "auto", max_steps: int = 30, page: bool = False) -> float:
    """The table ``input_pipeline_<device>`` (and its page, run alone); returns the augmented 320 px row's share
    after the first step."""
    from lib.report.provenance import collect

    prov = collect()
    base = dict(interference_every=0, eval_every=10_000, device=device)
    df = pd.DataFrame([measure(TrainConfig(**base, **row), max_steps) for row in ROWS])
    name = f"input_pipeline_{df['device'].iloc[0]}"
    write(name, df)
    if page:
        from .docs import write_page

        write_page(name, df, prov, "python -m benchmarks.input_pipeline")
    return float(df.iloc[1]["data wait share after the first step"])


if __name__ == "__main__":
    run(page=True)

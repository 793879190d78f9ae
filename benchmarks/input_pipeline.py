"""Share of training time spent waiting for data (target: under 10%).

Images are decoded and letterboxed once, held as one uint8 tensor; a batch is
an index, a stack and a float conversion. Measured over one real epoch of the
default configuration from the loop's own ``data_time`` and ``step_time``.
"""
from __future__ import annotations

import pandas as pd

from lib.config import TrainConfig
from lib.engine.trainer import Trainer

from .common import write


def run(epochs: int = 1, device: str = "auto"):
    trainer = Trainer(TrainConfig(epochs=epochs, interference_every=0, eval_every=10_000, device=device), progress=False)
    rows = []
    trainer.model.train()
    import time

    for epoch in range(epochs):
        t_data = time.perf_counter()
        for batch in trainer._loader(epoch):
            data_time = time.perf_counter() - t_data
            r = trainer.train_step(batch, epoch)
            rows.append({"data_time": data_time, "step_time": r["step_time"]})
            trainer.step += 1
            t_data = time.perf_counter()
    h = pd.DataFrame(rows)
    share = h["data_time"].sum() / (h["data_time"].sum() + h["step_time"].sum())
    df = pd.DataFrame({"value": {"steps": len(h), "data wait total (s)": h["data_time"].sum(),
                                 "compute total (s)": h["step_time"].sum(), "data wait share": share,
                                 "target": 0.10}})
    write(f"input_pipeline_{trainer.device.type}", df)
    return share

"""Hand-made runs with known answers for the report's tests: ``history``, a per-step log, and ``fake_run``, a
run's configuration, metrics and history."""
from types import SimpleNamespace

import numpy as np
import pandas as pd

from lib.config import TrainConfig
from lib.experiments.methods import method


def history(w_det, epochs, view=None):
    """A per-step history: ``w_det`` per step, w_view = 2 - w_det, ``epochs`` equal epochs."""
    w = np.asarray(w_det, float)
    n = len(w)
    return pd.DataFrame({"epoch": np.repeat(np.arange(epochs), n // epochs), "step": np.arange(n),
                         "w_det": w, "w_view": 2 - w, "loss_det": np.linspace(2, 1, n),
                         "loss_view": np.full(n, 0.5) if view is None else view})


def fake_run(label, seed=0, val=(0.5, 0.8), test=(0.5, 0.8), hist=None, **cfg):
    m = method(label)
    config = TrainConfig(**{**{k: v for k, v in m.items()}, "seed": seed, **cfg})
    metrics = {"val_mAP50": val[0], "val_mAP50_95": val[0] / 2, "val_view_accuracy": val[1],
               "test_mAP50": test[0], "test_mAP50_95": test[0] / 2, "test_view_accuracy": test[1],
               "train_seconds": 10.0, "parameters": 1234, "device": "cpu"}
    return SimpleNamespace(config=config, metrics=metrics, history=hist if hist is not None else history([1.0] * 8, 2))

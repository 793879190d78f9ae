"""What an exponential moving average of the weights (``lib.engine.ema``, YOLOv5's ModelEMA) changes on the default
profile: the lever-agreement table (``benchmarks.lever_agreement``) with EMA settings as the "levers" and the
report's own runs (float32, no EMA) as the reference, three seeds of the original and GradNorm.

    python -m benchmarks.ema_effect

EMA changes only what is evaluated and saved (training is the same run), so every difference in the table is
the average's. Two settings: YOLOv5's (decay 0.9999, warm-up tau 2000 steps: over a default-profile run of a
few hundred steps the ramp keeps d_u small, so the average follows the last few dozen steps), and one whose
horizon fits a short run (decay 0.99, tau 20).
"""
from __future__ import annotations

import pandas as pd

from . import lever_agreement

EMA = {"EMA 0.9999, tau 2000 (YOLOv5)": dict(ema_decay=0.9999, ema_tau=2000.0),
       "EMA 0.99, tau 20": dict(ema_decay=0.99, ema_tau=20.0)}


def run(seeds=(0, 1, 2)) -> pd.DataFrame:
    return lever_agreement.run(seeds=seeds, levers={k: {**lever_agreement.FP32, **v} for k, v in EMA.items()},
                               table="ema_effect_cpu")


if __name__ == "__main__":
    run()

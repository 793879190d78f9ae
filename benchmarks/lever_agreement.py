"""Does a lever that changes numerics give the float32 result? Three seeds of the default report's runs each way.

``make bench`` step times say what bf16 autocast and channels_last buy; this says what they cost. Each
method of ``METHODS`` trains with the default profile's settings (``lib.report.context.resolve``) at
seeds 0, 1, 2 in float32 (``amp="off"``, contiguous) and with the lever, through the run store (the
runs the default report trains are reused, not trained again). Per method and test metric: the float32
and lever means over seeds, the mean paired difference (lever - float32, same seed) with its 95% t
interval, the float32 seed standard deviation, and how far single runs moved (mean and max of |lever -
float32| over the seeds). The lever *agrees* where the mean difference is within one seed standard
deviation: closer than two float32 runs with different seeds typically are. A lever may be the report's
default only if every row agrees. ``channels_last`` alone keeps float32 arithmetic and only changes the
order of its sums (as another CPU's kernels would): it is the control that shows how much any change of
rounding moves a run. Training seconds per step come from the runs themselves.
"""
from __future__ import annotations

import numpy as np
import pandas as pd

from lib.experiments.batch import get_or_train_all
from lib.experiments.methods import configs
from lib.report.context import resolve
from lib.report.stats import mean_ci

from .common import write

FP32 = dict(amp="off", memory_format="contiguous")
LEVERS = {"channels_last": dict(amp="off", memory_format="channels_last"),
          "bf16 + channels_last": dict(amp="bf16", memory_format="channels_last")}
METHODS = ("original", "gradnorm")
METRICS = ("test_mAP50", "test_mAP50_95", "test_view_accuracy", "test_view_macro_f1")


AGREES = "agrees (|difference| <= fp32 seed SD)"


def agreement(runs: dict, levers, methods, seeds) -> pd.DataFrame:
    """The table from runs keyed ``(lever, method, seed)``, lever "fp32" (the reference) or a name of ``levers``."""
    rows = []
    for lever in levers:
        for m in methods:
            for k in METRICS:
                a = np.array([runs["fp32", m, s].metrics[k] for s in seeds], dtype=float)
                b = np.array([runs[lever, m, s].metrics[k] for s in seeds], dtype=float)
                d, lo, hi = mean_ci(b - a)
                sd = float(np.std(a, ddof=1))
                rows.append({"lever": lever, "method": m, "metric": k.removeprefix("test_"), "fp32 mean": a.mean(),
                             "lever mean": b.mean(), "mean difference": d, "difference 95% CI low": lo,
                             "difference 95% CI high": hi, "fp32 seed SD": sd, AGREES: bool(abs(d) <= sd),
                             "mean |run difference|": float(np.abs(b - a).mean()),
                             "max |run difference|": float(np.abs(b - a).max())})
            t_a = np.mean([runs["fp32", m, s].metrics["seconds_per_step"] for s in seeds])
            t_b = np.mean([runs[lever, m, s].metrics["seconds_per_step"] for s in seeds])
            rows.append({"lever": lever, "method": m, "metric": "seconds per step", "fp32 mean": t_a,
                         "lever mean": t_b, "mean difference": t_b - t_a, "speed-up": t_a / t_b})
    return pd.DataFrame(rows).set_index(["lever", "method", "metric"])


def verdicts(df: pd.DataFrame) -> dict[str, bool]:
    """Lever -> whether every metric of every method agrees (the condition for becoming a default)."""
    return {lever: bool(sub[AGREES].dropna().astype(bool).all()) for lever, sub in df.groupby(level="lever")}


def run(methods=METHODS, seeds=(0, 1, 2), profile: str = "default", levers=None,
        table: str = "lever_agreement_cpu") -> pd.DataFrame:
    levers = LEVERS if levers is None else levers
    base, _, _, jobs = resolve(profile)
    cfgs = {}
    for name, lever in {"fp32": FP32, **levers}.items():
        for (m, s), cfg in configs(base.replace(**lever), methods, seeds).items():
            cfgs[name, m, s] = cfg
    df = agreement(get_or_train_all(cfgs, jobs=jobs), list(levers), methods, seeds)
    df.index.name = (f"levers vs float32 (contiguous), {profile} profile settings, seeds {list(seeds)}; "
                     f"every metric agrees: {verdicts(df)}")
    return write(table, df)


if __name__ == "__main__":
    print(run())

"""The upstream report's four validation criteria (section 5), applied as written to one run, and what they can show.

The thresholds come from the upstream report (``upstream_claims()["criteria"]``): a
detection-weight change above ``weight_change_min``, weights settled within
``settle_epochs_max`` epochs (``analysis.settle_epoch``), a last-epoch loss
fluctuation (std/mean) below ``loss_fluctuation_max``, training under
``training_seconds_max`` seconds.
"""
from __future__ import annotations

import pandas as pd

from . import analysis


def judge(history: pd.DataFrame, train_seconds: float, crit: dict) -> dict:
    """The four criteria on one run's per-step history (columns epoch, w_det, w_view, loss_det, loss_view):
    each measured value and whether it passes."""
    change = float(abs(history["w_det"].iloc[-1] - history["w_det"].iloc[0]))
    settled = analysis.settle_epoch(history)
    fluct = analysis.loss_fluctuation(history)
    return {
        "detection weight change": change, f"change > {crit['weight_change_min']}": change > crit["weight_change_min"],
        "weights settled in epoch": settled,
        f"settled within {crit['settle_epochs_max']} epochs": settled <= crit["settle_epochs_max"],
        "loss fluctuation (last epoch)": fluct,
        f"fluctuation < {crit['loss_fluctuation_max']:.0%}": fluct < crit["loss_fluctuation_max"],
        "training time (s)": train_seconds,
        f"time < {crit['training_seconds_max']:g} s": train_seconds < crit["training_seconds_max"],
    }


def reading(table: pd.DataFrame, toy_steps: int) -> str:
    """Who passes each criterion (from ``table``, rows: runs, boolean columns: criteria) and what each
    criterion can and cannot show; ``toy_steps``: the length of the upstream report's toy test in steps."""
    flags = table[[c for c in table.columns if table[c].dtype == bool]]

    def who(names) -> str:
        return ", ".join(f"`{n}`" for n in names) or "none"

    c1, c2, c3, c4 = flags.columns
    passing = "; ".join(f"{c}: {who(flags.index[flags[c]])}" for c in flags.columns)
    return f"""
**What the criteria show, and what they do not.** Passing each criterion, from the table: {passing}.
All four: {who(flags.index[flags.all(axis=1)])}.

* *{c1}* rewards motion, not correctness: a rule that drives a weight to zero passes it, and fixed
  weights fail it by construction although they are a legitimate, often strong, choice. It says
  nothing about either task's accuracy.
* *{c2}* rewards a collapse too (a weight pinned at 0 is perfectly settled), while GradNorm's weights are
  meant to keep adapting as the tasks' relative training rates change.
* *{c3}* is batch-to-batch noise of the summed loss in the last epoch. On the upstream report's toy the data are
  pure noise, so it reflects the batch, not the stability of learning.
* *{c4}* fits a {toy_steps}-step toy: it judges the size of the test, not the method.

None of the four looks at detection mAP or view accuracy; sections 4 and 8 do.
"""

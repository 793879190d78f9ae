"""The recipe benchmark's reading: paired differences from `off`, the rule that makes an arm a default, the block."""
import numpy as np
import pandas as pd
import pytest
from scipy import stats

from benchmarks import recipe


def runs_table(gain: dict, view_gain: dict | None = None) -> pd.DataFrame:
    """Fake runs: per set and arm, val mAP50 = base(seed) + gain[arm] + noise(seed, arm)."""
    rows = []
    for name, arms in recipe.ARMS_OF.items():
        for arm in arms:
            for seed in recipe.SEEDS:
                noise = 0.01 * ((seed * 7 + len(arm)) % 3 - 1)
                rows.append(dict(set=name, arm=arm, schedule="report", seed=seed,
                                 val_mAP50=0.5 + 0.05 * seed + gain.get(arm, 0) + noise,
                                 val_view_accuracy=0.8 + (view_gain or {}).get(arm, 0) + noise / 2))
            rows.append(dict(set=name, arm=arm, schedule="long", seed=0, val_mAP50=0.7 + gain.get(arm, 0),
                             val_view_accuracy=0.9))
    return pd.DataFrame(rows)


def test_the_paired_difference_is_a_t_interval_over_seeds():
    df = runs_table({"yolov5": 0.1})
    row = recipe.paired(df).set_index(["set", "arm"]).loc[("synthetic", "yolov5")]
    d = (df.query("set == 'synthetic' and arm == 'yolov5' and schedule == 'report'").val_mAP50.to_numpy()
         - df.query("set == 'synthetic' and arm == 'off' and schedule == 'report'").val_mAP50.to_numpy())
    half = stats.t.ppf(0.975, len(d) - 1) * d.std(ddof=1) / np.sqrt(len(d))
    assert row["val_mAP50 vs off"] == pytest.approx(d.mean())
    assert row["val_mAP50 lo"] == pytest.approx(d.mean() - half) and row["val_mAP50 hi"] == pytest.approx(d.mean() + half)
    assert row["long val_mAP50"] == pytest.approx(0.8)


def test_an_arm_is_chosen_only_above_zero_on_every_set_without_a_view_loss():
    assert recipe.chosen(recipe.paired(runs_table({"yolov5": 0.1})))["yolov5"]
    assert not recipe.chosen(recipe.paired(runs_table({"yolov5": 0.1}, {"yolov5": -0.2})))["yolov5"]  # view worse
    assert not recipe.chosen(recipe.paired(runs_table({"yolov5": 0.0})))["yolov5"]                    # no gain
    assert not any(recipe.chosen(recipe.paired(runs_table({}))).values())


def test_the_block_names_what_it_chose():
    diffs = recipe.paired(runs_table({"pretrained": 0.1}))
    text = recipe.markdown(recipe.snake(diffs), recipe.chosen(diffs))
    assert "Chosen as a default: pretrained." in text and text.count("\n| ") == len(diffs) + 1
    text = recipe.markdown(recipe.snake(diffs), {"pretrained": False})
    assert "No arm met the rule" in text

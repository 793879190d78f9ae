"""Stopping on a validation plateau (``lib.engine.stopping``): the rule, the best weights tested, resume."""
import math
import warnings
from pathlib import Path

import pandas as pd
import pytest
import torch

from lib.config import ConfigError, TrainConfig
from lib.data import load_split, make_loader
from lib.engine.history import TIMING_COLUMNS
from lib.engine.stopping import EarlyStopping, fitness
from lib.engine.trainer import Trainer
from tests.helpers.resume import whole_and_resumed
from lib.evaluate import evaluate
from lib.train import train
from tests.helpers.datasets import upstream


def run_rule(values, patience, min_delta=0.0):
    """(0-based epoch at which the rule stops or None, best epoch) for fitness ``values`` of epochs 0, 1, ..."""
    rule = EarlyStopping(patience, min_delta)
    for epoch, v in enumerate(values):
        rule.step(epoch, v)
        if rule.stop:
            return epoch, rule.best_epoch
    return None, rule.best_epoch


@pytest.mark.parametrize("values, patience, expected", [
    ([0.1, 0.2, 0.3, 0.4], 1, (None, 3)),              # still improving: runs to the end
    ([0.1, 0.5, 0.4, 0.3, 0.6], 2, (3, 1)),           # two worse epochs after the best
    ([0.1, 0.5, 0.5, 0.5, 0.6], 2, (3, 1)),           # ties are no improvement (YOLOv5's >= would go on)
    ([0.1, 0.5, 0.4, 0.6, 0.5, 0.5], 2, (5, 3)),      # an improvement resets the count
    ([0.0, 0.0, 0.0], 1, (1, 0)),                      # a flat start: the first validation is the best
    ([math.nan, 0.1, math.nan, math.nan], 2, (3, 1)),  # NaN never improves on a number
    ([0.1, 0.0, 0.0, 0.0], 0, (None, 0)),              # patience 0: never stops
])
def test_the_rule_stops_at_the_known_epoch(values, patience, expected):
    assert run_rule(values, patience) == expected


@pytest.mark.parametrize("values, patience, min_delta, expected", [
    # creeping up by 0.004 an epoch: a plateau at min_delta 0.01 (stops 2 epochs after 0.50), the best is the last
    ([0.5, 0.504, 0.508], 2, 0.01, (2, 2)),
    ([0.5, 0.504, 0.508], 2, 0.0, (None, 2)),           # YOLOv5's rule: every gain restarts the count
    # the count restarts only when 0.01 over the fitness that last restarted it (0.5 -> 0.515), not over the best
    ([0.5, 0.508, 0.515, 0.52, 0.524], 2, 0.01, (4, 4)),
    ([0.5, 0.52, 0.5, 0.531, 0.531, 0.53], 2, 0.01, (5, 3)),  # 0.531 > 0.52 + 0.01 restarts; ties do not
])
def test_min_delta_counts_only_gains_above_it(values, patience, min_delta, expected):
    assert run_rule(values, patience, min_delta) == expected


def test_min_delta_must_not_be_negative():
    with pytest.raises(ValueError, match="min_delta"):
        EarlyStopping(3, -0.1)
    with pytest.raises(ConfigError) as e:
        TrainConfig(patience=3, eval_every=1, min_delta=-0.01)
    assert set(e.value.problems) == {"min_delta"}


def test_the_rule_state_round_trips():
    a = EarlyStopping(3)
    for epoch, v in enumerate([0.2, 0.4, 0.3]):
        a.step(epoch, v)
    b = EarlyStopping(3)
    b.load_state_dict(a.state_dict())
    assert (b.best_epoch, b.best_fitness, b.stale) == (1, 0.4, 1)
    assert [b.step(3, 0.3), b.stop, b.step(4, 0.3), b.stop] == [False, False, False, True]
    c, d = EarlyStopping(2, 0.01), EarlyStopping(2, 0.01)  # the reference fitness survives a resume
    for epoch, v in enumerate([0.5, 0.505]):
        c.step(epoch, v)
    d.load_state_dict(c.state_dict())
    assert (d.reference, d.best_fitness, d.stale) == (0.5, 0.505, 1)
    assert [d.step(2, 0.509), d.stop] == [True, True]


def test_fitness_is_the_mean_of_each_tasks_headline_metric():
    m = {"mAP50": 0.25, "mAP50_95": 0.1, "view_accuracy": 0.75, "view_macro_f1": 0.5}
    assert fitness(m, ("det", "view")) == 0.5
    assert fitness(m, ("det",)) == 0.25 and fitness(m, ("view",)) == 0.75
    with pytest.raises(ValueError, match="seg"):
        fitness(m, ("det", "seg"))


def test_patience_needs_validation_every_epoch():
    with pytest.raises(ConfigError) as e:
        TrainConfig(patience=3, eval_every=2)
    assert set(e.value.problems) == {"patience"}
    assert "eval_every" in str(e.value) and "patience" in str(e.value)
    assert TrainConfig(patience=3, eval_every=1).patience == 3
    with pytest.raises(ConfigError) as e:
        TrainConfig(patience=-1, eval_every=1)
    assert set(e.value.problems) == {"patience"}


# -- runs ----------------------------------------------------------------------------------------------------
@pytest.fixture(scope="module")
def data(tmp_path_factory):
    with warnings.catch_warnings():  # the upstream export's '../' split paths are resolved with a warning
        warnings.simplefilter("ignore")
        return str(upstream(tmp_path_factory.mktemp("data")))


def tiny(data, **kw) -> TrainConfig:
    base = dict(data=data, imgsz=64, batch_size=6, epochs=6, lr=5e-3, warmup_epochs=0, interference_every=0,
                anchors="default", eval_every=1, threads=1, bn_calibration_images=12, patience=2)
    return TrainConfig(**{**base, **kw})


# fitness by epoch (0-based): best at epoch 1, no improvement at 2 and 3, so patience 2 stops after epoch 3
SCRIPT = [0.1, 0.5, 0.4, 0.5, 0.9, 0.9]


@pytest.fixture
def scripted(monkeypatch):
    """The rule sees SCRIPT's fitness instead of the measured one (the weights and metrics are real)."""
    real = EarlyStopping.step
    monkeypatch.setattr(EarlyStopping, "step", lambda self, epoch, value: real(self, epoch, SCRIPT[epoch]))


def val_columns(df: pd.DataFrame) -> list[str]:
    return [c for c in df if c.startswith("val_") and not c.startswith("val_loss")]


@pytest.mark.filterwarnings("ignore::UserWarning")
@pytest.mark.parametrize("ema_decay", [0.0, 0.9])
def test_a_plateau_stops_the_run_and_the_best_epochs_weights_are_tested(data, tmp_path, scripted, capsys, ema_decay):
    """The evaluated weights are kept: the model's, or with EMA the moving average."""
    run = train(tiny(data, ema_decay=ema_decay, ema_tau=2.0), runs=tmp_path, progress=False)
    m = run.metrics
    assert (m["best_epoch"], m["stopped_epoch"], m["converged"]) == (2, 4, True)
    assert len(run.epochs) == 4 and run.history["epoch"].max() == 3
    assert "stopped at epoch 4: no improvement in any task for 2 epochs; best epoch 2, fitness 0.5000" in capsys.readouterr().err
    # val figures: the best epoch's row of epochs.csv, not the last one's
    best, last = run.epochs.iloc[1], run.epochs.iloc[-1]
    for c in val_columns(run.epochs):
        assert m[c] == best[c] or (math.isnan(best[c]) and m[c] is None), c
    assert any(best[c] != last[c] for c in val_columns(run.epochs))
    assert m["val_fitness"] == fitness({c[4:]: best[c] for c in val_columns(run.epochs)}, ("det", "view"))
    # test figures: what the saved weights score (BatchNorm statistics as recalibrated at the best epoch)
    model = run.load_model()
    test = load_split(Path(run.config.data), "test", run.config.imgsz)
    result = evaluate(model, make_loader(test, 32, shuffle=False, seed=0), "cpu", imgsz=run.config.imgsz)
    for k, v in result.metrics().items():
        assert m[f"test_{k}"] == v or (math.isnan(v) and m[f"test_{k}"] is None), k


@pytest.mark.filterwarnings("ignore::UserWarning")
def test_a_real_plateau_converges(data):
    """With a step too small to move a float32 weight, every validation ties with the first: patience stops
    the run patience epochs after epoch 1, and epoch 1's fitness is the reported one."""
    result = Trainer(tiny(data, lr=1e-12, weight_decay=0.0), progress=False).fit()
    m = result.metrics
    assert (m["best_epoch"], m["stopped_epoch"], m["converged"]) == (1, 3, True)
    first = result.epochs.iloc[0]
    assert m["val_fitness"] == fitness({"mAP50": first["val_mAP50"], "view_accuracy": first["val_view_accuracy"]},
                                       ("det", "view"))


@pytest.mark.filterwarnings("ignore::UserWarning")
def test_a_run_still_improving_is_not_converged(data, scripted):
    result = Trainer(tiny(data, epochs=3, patience=3), progress=False).fit()
    assert (result.metrics["best_epoch"], result.metrics["stopped_epoch"], result.metrics["converged"]) == (2, 3, False)


@pytest.mark.filterwarnings("ignore::UserWarning")
def test_without_patience_the_last_weights_are_tested(data, tmp_path):
    """patience 0 (the default) is the loop as it was: every epoch trained, the last weights tested and saved."""
    t = Trainer(tiny(data, epochs=3, patience=0, eval_every=2), run_dir=tmp_path, progress=False)
    result = t.fit()
    m = result.metrics
    assert (m["best_epoch"], m["stopped_epoch"], m["converged"]) == (3, 3, None)
    assert t.plateau.best_model is None
    last = torch.load(tmp_path / "checkpoint.pt", weights_only=True)
    assert last["best_model"] is None and last["epoch"] == 2
    for k, v in result.model.state_dict().items():
        assert torch.equal(v, last["model"][k]), k
    row = result.epochs.iloc[-1]
    for c in val_columns(result.epochs):
        assert m[c] == row[c] or (math.isnan(m[c]) and math.isnan(row[c])), c
    assert result.epochs["val_mAP50"].isna().tolist() == [True, False, False]  # eval_every=2, and the last


@pytest.mark.filterwarnings("ignore::UserWarning")
@pytest.mark.parametrize("cut", [2, 3])
def test_a_killed_run_resumes_to_the_uninterrupted_result(data, tmp_path, scripted, cut):
    """Killed after epoch 3 (the best was epoch 2) or after epoch 4 (the rule had fired, the result not yet
    written): the checkpoint carries the best weights and the rule's state, so the result is the same."""
    cfg = tiny(data)
    whole, resumed = whole_and_resumed(cfg, tmp_path, cut)
    drop = lambda df: df.drop(columns=[c for c in df if c in TIMING_COLUMNS])  # noqa: E731
    pd.testing.assert_frame_equal(drop(resumed.history), drop(whole.history))
    pd.testing.assert_frame_equal(drop(resumed.epochs), drop(whole.epochs))
    for k, v in whole.metrics.items():
        if k.startswith(("val_", "test_")) or k in ("best_epoch", "stopped_epoch", "converged"):
            assert resumed.metrics[k] == v or (math.isnan(v) and math.isnan(resumed.metrics[k])), k
    for k, v in whole.model.state_dict().items():
        assert torch.equal(v, resumed.model.state_dict()[k]), k


def test_two_tasks_stop_only_when_each_tasks_metric_has_plateaued():
    """View accuracy saturates at once while mAP50 climbs 0.006 an epoch for 20 epochs: the mean gains 0.009
    in 3 epochs, under min_delta, so a rule on the mean stopped after ``patience`` epochs (19 of 57 runs of the
    full profile's first build stopped with a task still rising); the run goes on until detection flattens."""
    from types import SimpleNamespace

    from lib.engine.stopping import Plateau

    map50 = [0.1 + 0.006 * min(e, 20) for e in range(30)]
    plateau, mean_only, model = Plateau(3, ("det", "view"), 30, 0.01), EarlyStopping(3, 0.01), torch.nn.Linear(1, 1)
    stopped = mean_stopped = None
    for epoch, m in enumerate(map50):
        result = SimpleNamespace(metrics=lambda m=m: {"mAP50": m, "view_accuracy": 1.0})
        plateau.observe(epoch, result, model)
        mean_only.step(epoch, (m + 1.0) / 2)
        if mean_stopped is None and mean_only.stop:
            mean_stopped = epoch
        if plateau.stop:
            stopped = epoch
            break
    assert mean_stopped == 3 and stopped == 23  # detection flat from epoch 20: 3 epochs without a gain
    assert plateau.summary(stopped + 1) == {"best_epoch": 21, "converged": True}  # the best mean: epoch 20
    state = plateau.state_dict()
    again = Plateau(3, ("det", "view"), 30, 0.01)
    again.load_state_dict(state)
    assert again.stop and again.task_rules["det"].state_dict() == plateau.task_rules["det"].state_dict()

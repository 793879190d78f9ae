"""The exponential moving average of the weights (lib.engine.ema): YOLOv5's ModelEMA to float precision, and what the
training loop evaluates and saves with it."""
import copy
import math

import pytest
import torch

from lib.config import ConfigError, TrainConfig
from lib.data import SyntheticConfig, ensure_synthetic
from lib.engine.ema import ModelEMA, ema_decay
from lib.engine.trainer import Trainer


def yolov5_ema(states: list[dict], decay: float, tau: float) -> dict:
    """YOLOv5's ModelEMA.update written out: updates u = 1, 2, ...; d = decay (1 - exp(-u / tau)); floating-point
    entries v = d v + (1 - d) x. Started from the first state (YOLOv5 starts from the model and its first
    update weighs it by 5e-4; the project's average copies it: see lib.engine.ema)."""
    ema = {k: v.clone() for k, v in states[0].items()}
    for u, state in enumerate(states[1:], start=2):
        d = decay * (1 - math.exp(-u / tau))
        for k, v in ema.items():
            if v.dtype.is_floating_point:
                v *= d
                v += (1 - d) * state[k]
            else:
                v.copy_(state[k])
    return ema


def test_model_ema_is_yolov5s_average_of_weights_and_batchnorm_statistics():
    torch.manual_seed(0)
    model = torch.nn.Sequential(torch.nn.Conv2d(3, 4, 3), torch.nn.BatchNorm2d(4), torch.nn.Flatten(), torch.nn.LazyLinear(2))
    model(torch.randn(2, 3, 6, 6))
    ema = ModelEMA(model, decay=0.99, tau=4.0)
    states = []
    opt = torch.optim.SGD(model.parameters(), lr=0.1)
    for _ in range(12):
        model(torch.randn(5, 3, 6, 6)).square().mean().backward()
        opt.step()
        opt.zero_grad()
        ema.update(model)
        states.append(copy.deepcopy(model.state_dict()))
    expected = yolov5_ema(states, 0.99, 4.0)
    got = ema.module.state_dict()
    assert set(got) == set(expected) and int(ema.n_averaged) == 12
    for k, v in expected.items():
        assert torch.allclose(got[k], v, rtol=1e-6, atol=1e-7), k
    assert not torch.allclose(got["1.running_mean"], states[-1]["1.running_mean"])  # statistics averaged too
    assert ema_decay(1, 0.9999, 2000.0) == pytest.approx(0.9999 * (1 - math.exp(-1 / 2000)))
    with pytest.raises(ValueError, match="decay"):
        ModelEMA(model, decay=1.0)


@pytest.fixture(scope="module")
def data(tmp_path_factory):
    return str(ensure_synthetic(SyntheticConfig(n_train=16, n_val=4, n_test=4, seed=2),
                                root=tmp_path_factory.mktemp("data")))


def test_the_loop_evaluates_and_saves_the_average_when_asked(data):
    base = dict(data=data, imgsz=64, batch_size=8, epochs=2, interference_every=0, threads=1, device="cpu",
                bn_calibration_images=8, anchors="default")
    t = Trainer(TrainConfig(**base, ema_decay=0.9, ema_tau=2.0), progress=False)
    result = t.fit()
    assert result.model is t.ema.module and int(t.ema.n_averaged) == t.step == 4
    moved = [not torch.equal(a, b) for a, b in zip(t.model.parameters(), t.ema.module.parameters())]
    assert sum(moved) > len(moved) // 2  # the average is not the last weights
    plain = Trainer(TrainConfig(**base), progress=False).fit()
    assert plain.model is not None and not hasattr(plain.model, "n_averaged")
    for a, b in zip(plain.model.parameters(), t.model.parameters()):  # EMA changes evaluation only, not training
        assert torch.equal(a, b)
    # ... and evaluation sees the average
    assert result.epochs["val_loss_view"].iloc[-1] != plain.epochs["val_loss_view"].iloc[-1]
    with pytest.raises(ConfigError) as e:
        TrainConfig(ema_decay=1.0)
    assert set(e.value.problems) == {"ema_decay"}

"""TrainConfig: every value it cannot train with is refused, naming the field; one value, one run key."""
import pytest

from lib.config import RANGES, ConfigError, TrainConfig, defaults


@pytest.mark.parametrize("changes, fields", [
    ({"epochs": 0}, {"epochs"}),
    ({"batch_size": 0, "lr": 0.0}, {"batch_size", "lr"}),
    ({"imgsz": 96 + 1}, {"imgsz"}),
    ({"grad_clip": -1.0}, {"grad_clip"}),
    ({"ema_decay": 1.0}, {"ema_decay"}),
    ({"final_lr_ratio": 1.5}, {"final_lr_ratio"}),
    ({"device": "cuda:x"}, {"device"}),
    ({"model": "triple"}, {"model"}),
    ({"model": "dual", "task": "det"}, {"task"}),
    ({"amp": "fp8"}, {"amp"}),
    ({"epochs": "two"}, {"epochs"}),
    ({"imgsz": 64.0}, {"imgsz"}),
    ({"weighting_options": [1.0]}, {"weighting_options"}),
    ({"scale": "xl"}, {"scale"}),
    ({"weighting": "magic"}, {"weighting"}),
    ({"weighting": "uw", "weighting_options": {"weights": [1, 1]}}, {"weighting_options"}),
    ({"weighting": "gradnorm", "weighting_options": {"alpha": float("nan")}}, {"weighting_options"}),
])
def test_a_bad_value_is_refused_naming_its_field(changes, fields):
    with pytest.raises(ConfigError) as e:
        TrainConfig(**changes)
    assert set(e.value.problems) == fields
    assert isinstance(e.value, ValueError)  # callers that catch ValueError still catch it


def test_every_range_admits_the_default_and_refuses_a_value_past_its_bound():
    base = defaults()
    for name, ok, _ in RANGES:
        assert ok(base[name]), name
    outside = {"epochs": 0, "batch_size": 0, "imgsz": 0, "eval_every": 0, "threads": -1, "interference_every": -1,
               "bn_calibration_images": -1, "max_train_images": -1, "weight_decay": -0.1, "warmup_epochs": -0.1,
               "grad_clip": -0.1, "patience": -1, "min_delta": -0.01, "lr": 0.0, "ema_decay": 1.0, "ema_tau": 0.0, "final_lr_ratio": 1.01,
               "hsv_h": 1.01, "hsv_s": -0.1, "hsv_v": 1.5, "flipud": -0.1, "fliplr": 1.01, "mosaic": 1.1, "mixup": 2.0,
               "translate": 1.0, "aug_scale": 1.0, "degrees": 181.0, "shear": -1.0, "perspective": 0.002,
               "close_mosaic": -1, "workers": -2}
    assert set(outside) == {name for name, _, _ in RANGES}
    for name, value in outside.items():
        with pytest.raises(ConfigError) as e:
            TrainConfig(**{name: value})
        assert name in e.value.problems


def test_an_int_for_a_float_field_is_the_same_configuration():
    assert TrainConfig(lr=1).to_json() == TrainConfig(lr=1.0).to_json()


def test_round_trip_through_a_dict():
    cfg = TrainConfig(weighting="gradnorm", weighting_options={"alpha": 0.5}, epochs=3)
    assert TrainConfig.from_dict(cfg.to_dict()) == cfg
    with pytest.raises(ValueError):
        TrainConfig.from_dict({**cfg.to_dict(), "epoch": 3})


def test_amp_on_an_unsupported_device_or_an_unknown_mode_is_refused_by_name():
    assert TrainConfig(amp="fp16").amp == "fp16"
    for changes, field in [({"amp": "fp16", "device": "mps"}, "amp"), ({"amp": "bf16", "device": "mps"}, "amp"),
                           ({"amp": "half"}, "amp"), ({"memory_format": "nhwc"}, "memory_format")]:
        with pytest.raises(ConfigError) as e:
            TrainConfig(**changes)
        assert set(e.value.problems) == {field}, changes

"""One trained tiny run for the tests of a trained model's use (model file, predict, val): fixture ``tiny_run``.

Twelve synthetic 192x144 frames (landscape, so letterboxing to the 64 px square pads top and bottom) in six
two-frame clips named as the upstream's (``SYN0001-1.mp4-7.png``), three jet classes and all three views;
validation is the training split, so in a few seconds the run reaches a mAP50 (about 0.77) and a view accuracy
(8 of 12) that a mistake in mapping boxes back to the frame, or in reading the view, would change.
"""
from types import SimpleNamespace

import pytest

from lib.config import TrainConfig
from lib.data import SyntheticConfig, ensure_synthetic
from lib.train import train


def tiny_config(data: str, **kw) -> TrainConfig:
    base = dict(data=data, imgsz=64, batch_size=8, epochs=30, lr=5e-3, warmup_epochs=3, interference_every=0,
                anchors="default", eval_every=1000, threads=1, bn_calibration_images=8)
    return TrainConfig(**{**base, **kw})


@pytest.fixture(scope="session")
def tiny_run(tmp_path_factory):
    """``.run`` (``lib.store.runs.Run``), ``.data`` (its data.yaml: val and test are the 12 training frames)."""
    root = tmp_path_factory.mktemp("tiny-run")
    yaml_path = ensure_synthetic(SyntheticConfig(n_train=12, n_val=2, n_test=2, frames_per_clip=2, p_no_jet=0.0,
                                                 p_two_jets=0.0, seed=0), root=root / "data")
    same = yaml_path.parent / "overfit.yaml"
    same.write_text(yaml_path.read_text().replace("val: valid/images", "val: train/images")
                    .replace("test: test/images", "test: train/images"))
    run = train(tiny_config(str(same)), runs=root / "runs", progress=False)
    return SimpleNamespace(run=run, data=str(same))

"""One trained tiny run for the tests of a trained model's use (model file, predict, val): fixture ``tiny_run``.

Eight synthetic 192x144 frames (landscape, so letterboxing to the 64 px square pads top and bottom), named as
the upstream's clips (``SYN0001-1.mp4-7.png``); validation is the training split, so the run overfits to a
high mAP50 and view accuracy in a few seconds, and a mistake in mapping boxes back to the frame shows.
"""
from types import SimpleNamespace

import pytest

from lib.config import TrainConfig
from lib.data import SyntheticConfig, ensure_synthetic
from lib.train import train


def tiny_config(data: str, **kw) -> TrainConfig:
    base = dict(data=data, imgsz=64, batch_size=8, epochs=20, lr=5e-3, warmup_epochs=3, interference_every=0,
                anchors="default", eval_every=1000, threads=1, bn_calibration_images=8)
    return TrainConfig(**{**base, **kw})


@pytest.fixture(scope="session")
def tiny_run(tmp_path_factory):
    """``.run`` (``lib.store.runs.Run``), ``.data`` (its data.yaml: val and test are the 8 training frames)."""
    root = tmp_path_factory.mktemp("tiny-run")
    yaml_path = ensure_synthetic(SyntheticConfig(n_train=8, n_val=2, n_test=2, p_no_jet=0.0, p_two_jets=0.0,
                                                 seed=3), root=root / "data")
    same = yaml_path.parent / "overfit.yaml"
    same.write_text(yaml_path.read_text().replace("val: valid/images", "val: train/images")
                    .replace("test: test/images", "test: train/images"))
    run = train(tiny_config(str(same)), runs=root / "runs", progress=False)
    return SimpleNamespace(run=run, data=str(same))

"""A small synthetic data set (fixture ``data``) and ``trainer``, a CPU ``Trainer`` on it at 64 px, for tests of
single training steps."""
import pytest

from lib.config import TrainConfig
from lib.data import SyntheticConfig, ensure_synthetic
from lib.engine.trainer import Trainer


@pytest.fixture(scope="module")
def data(tmp_path_factory):
    return str(ensure_synthetic(SyntheticConfig(n_train=8, n_val=4, n_test=4, seed=5),
                                root=tmp_path_factory.mktemp("data")))


def trainer(data, **kw) -> Trainer:
    cfg = TrainConfig(**{**dict(data=data, imgsz=64, batch_size=8, interference_every=0, anchors="default",
                                threads=1, device="cpu", bn_calibration_images=8), **kw})
    return Trainer(cfg, progress=False)

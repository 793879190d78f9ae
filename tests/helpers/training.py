"""The eight-image overfit data set (fixture ``eight_images``) and ``small``, a ``TrainConfig`` that trains on it
in seconds."""
import pytest

from lib.config import TrainConfig
from lib.data import SyntheticConfig, ensure_synthetic


@pytest.fixture(scope="module")
def eight_images(tmp_path_factory):
    """8 synthetic training images, also used as the validation and test split (an overfit check)."""
    root = tmp_path_factory.mktemp("data")
    yaml_path = ensure_synthetic(SyntheticConfig(n_train=8, n_val=2, n_test=2, p_no_jet=0.0, p_two_jets=0.0,
                                                 seed=3), root=root)
    text = yaml_path.read_text().replace("val: valid/images", "val: train/images").replace("test: test/images",
                                                                                           "test: train/images")
    same = yaml_path.parent / "overfit.yaml"
    same.write_text(text)
    return str(same)


def small(data: str, **kw) -> TrainConfig:
    base = dict(data=data, imgsz=96, batch_size=8, epochs=60, lr=5e-3, warmup_epochs=3, interference_every=0, anchors="default",
                eval_every=1000, threads=2, bn_calibration_images=8)
    base.update(kw)
    return TrainConfig(**base)

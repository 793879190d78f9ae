"""Augmentation in the training loop: training only, the same run for any worker count or frame store."""
import numpy as np
import torch

from lib.config import YOLOV5_AUGMENTATION
from tests.helpers.one_step import trainer

AUG = {**YOLOV5_AUGMENTATION, "mixup": 0.2, "degrees": 10.0, "close_mosaic": 1}


def test_evaluation_never_sees_augmentation(data):
    plain, augmented = trainer(data, epochs=2), trainer(data, epochs=2, **AUG)
    a, b = plain.evaluate("val"), augmented.evaluate("val")  # same seed: same initial weights
    np.testing.assert_equal((a.metrics(), a.losses), (b.metrics(), b.losses))  # NaN equal to NaN
    batch = next(iter(augmented._loader(0)))
    assert not torch.equal(batch.images, next(iter(plain._loader(0))).images)  # the training batches do differ


def test_a_run_is_the_same_for_any_workers_and_store(data):
    runs = [trainer(data, epochs=2, workers=w, cache=c, **AUG).fit() for w, c in ((0, "ram"), (2, "none"))]
    one, two = (r.model.state_dict() for r in runs)
    assert all(torch.equal(one[k], two[k]) for k in one)
    assert runs[0].metrics["val_mAP50"] == runs[1].metrics["val_mAP50"]

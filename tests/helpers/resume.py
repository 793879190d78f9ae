"""Kill a training run right after one checkpoint, resume it, and return it beside the uninterrupted run."""
from pathlib import Path

import pytest

from lib.engine.trainer import Trainer


class Stop(Exception):
    """Stands in for the process being killed after a checkpoint is on disk."""


def whole_and_resumed(cfg, root: Path, after_epoch: int):
    """(uninterrupted result, result of a run stopped right after saving epoch ``after_epoch`` and resumed)."""
    whole = Trainer(cfg, run_dir=root / "whole", progress=False).fit()
    first = Trainer(cfg, run_dir=root / "cut", progress=False)
    save = first.save_checkpoint

    def save_then_stop(epoch):
        save(epoch)
        if epoch == after_epoch:
            raise Stop

    first.save_checkpoint = save_then_stop
    with pytest.raises(Stop):
        first.fit()
    return whole, Trainer(cfg, run_dir=root / "cut", progress=False).fit()

"""What one backward is given (lib.weighting.step): a Step refuses a scale or rank count it cannot mean."""
import pytest
import torch

from lib.weighting import Step, build_weighting
from tests.helpers.two_head import TwoHead, two_task_grads


def test_a_step_refuses_a_scale_or_rank_count_it_cannot_mean():
    model = TwoHead()
    assert Step(model).scale == 1.0 and Step(model, scale=float("inf")).scale == float("inf")  # GradScaler overflow
    for bad in (0.0, -1.0, float("nan")):
        with pytest.raises(ValueError, match="scale must be > 0"):
            Step(model, scale=bad)
    with pytest.raises(ValueError, match="ranks must be >= 1"):
        Step(model, ranks=0)
    with pytest.raises(TypeError, match="step must be a lib.weighting.Step"):
        build_weighting("fixed", 2).backward(two_task_grads(model, torch.ones(1, 1), (0.0, 0.0)), {"model": model})

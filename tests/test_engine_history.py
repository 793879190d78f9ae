"""What a run logs (lib.engine.history): the weighting's state reaches the per-step history and the final figures."""
import numpy as np
import pytest

from lib.train import train
from tests.helpers.training import small


def test_weighting_state_reaches_the_history(eight_images, tmp_path):
    result = train(small(eight_images, epochs=2, weighting="gradnorm", interference_every=1), runs=tmp_path,
                   progress=False)
    h = result.history
    assert h.loc[0, ["w_det", "w_view"]].tolist() == [1.0, 1.0]  # the weights the first step used
    assert h["w_det"].iloc[1] != 1.0  # ... then GradNorm moved them
    assert np.allclose(h["w_det"] + h["w_view"], 2.0, atol=1e-5)
    assert (h[["gradnorm_G0", "gradnorm_G1"]] > 0).all().all()
    assert h["grad_cos"].between(-1, 1).all()
    assert result.metrics["final_w_det"] == pytest.approx(h["w_det"].iloc[-1])

"""CAGrad (lib.weighting.cagrad): the simplex projection, its dual solved against brute force, a zero radius."""
import math

import pytest
import torch

from lib.weighting.cagrad import cagrad_direction, project_to_simplex


def test_simplex_projection():
    w = project_to_simplex(torch.tensor([0.5, 2.0, -1.0], dtype=torch.float64))
    assert torch.allclose(w, torch.tensor([0.0, 1.0, 0.0], dtype=torch.float64))
    w = project_to_simplex(torch.tensor([0.3, 0.3, 0.3], dtype=torch.float64))
    assert torch.allclose(w, torch.full((3,), 1 / 3, dtype=torch.float64))  # equal entries: the centre


@pytest.mark.parametrize("T", [2, 3])
def test_cagrad_solves_its_dual(T):
    torch.manual_seed(T)
    grads = torch.randn(T, 10)
    grads[1] = -0.8 * grads[0] + 0.3 * torch.randn(10)  # a conflict
    c = 0.5
    d, w = cagrad_direction(grads, c, iters=2000)
    GG = (grads @ grads.T).double()
    g0n = GG.mean().sqrt()

    def dual(wv):
        return float(wv @ GG.mean(1) + c * g0n * (wv @ GG @ wv).sqrt())

    # brute force over a simplex grid
    n = 200 if T == 2 else 60
    best = math.inf
    for i in range(n + 1):
        for j in range(n + 1 - i if T == 3 else 1):
            wv = torch.tensor([i / n, 1 - i / n] if T == 2 else [i / n, j / n, 1 - (i + j) / n], dtype=torch.float64)
            best = min(best, dual(wv))
    assert dual(w) <= best + 1e-3 * abs(best) + 1e-6
    # the constraint ||d(1+c^2) - g0|| <= c ||g0|| holds with equality, and the worst task improves
    g0 = grads.mean(0)
    assert float(((d * (1 + c ** 2)) - g0).norm()) == pytest.approx(c * float(g0.norm()), rel=1e-3)
    assert float((grads @ d).min()) >= float((grads @ g0).min()) - 1e-6


def test_cagrad_with_zero_radius_is_the_mean_gradient():
    grads = torch.tensor([[1.0, 0.0], [0.0, 2.0]])
    d, _ = cagrad_direction(grads, c=0.0)
    assert torch.allclose(d, grads.mean(0))

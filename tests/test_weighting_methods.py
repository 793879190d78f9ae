"""Each weighting's defining property, and that every weighting runs with every model."""
import math
import re

import pytest
import torch
from torch import nn

from lib.models import build_model, default_anchors
from lib.weighting import (CAGrad, DWA, FAMO, PCGrad, Uncertainty, WEIGHTINGS, build_weighting,
                           shared_task_gradients)
from lib.weighting.cagrad import cagrad_direction, project_to_simplex
from lib.weighting.pcgrad import project_conflicting

from test_weighting_gradnorm import TwoHead


def two_task_grads(model, x, targets):
    ya, yb = model(x)
    return [(ya - targets[0]).pow(2).mean(), (yb - targets[1]).pow(2).mean()]


def test_pcgrad_removes_the_conflicting_component():
    g = torch.tensor([[1.0, 1.0], [-1.0, 0.0]])  # cos < 0
    combined = project_conflicting(g)
    g1 = g[0] - (g[0] @ g[1]) / (g[1] @ g[1]) * g[1]  # (0, 1)
    g2 = g[1] - (g[1] @ g[0]) / (g[0] @ g[0]) * g[0]  # (-0.5, 0.5)
    assert torch.allclose(combined, g1 + g2)
    torch.testing.assert_close(combined, torch.tensor([-0.5, 1.5]))  # (0, 1) + (-0.5, 0.5), by hand
    aligned = torch.tensor([[1.0, 0.5], [0.5, 1.0]])  # cos > 0: untouched
    assert torch.allclose(project_conflicting(aligned), aligned.sum(0))


def test_pcgrad_writes_the_projection_on_shared_parameters_only():
    torch.manual_seed(0)
    model = TwoHead(d=3)
    x = torch.randn(16, 3)
    targets = (torch.randn(16, 1), torch.randn(16, 1))
    raw = shared_task_gradients(two_task_grads(model, x, targets), model)
    head_grads = [h.weight.grad.clone() for h in model.heads]
    model.zero_grad(set_to_none=True)
    PCGrad(2).backward(two_task_grads(model, x, targets), model)
    assert torch.allclose(model.shared.weight.grad.flatten(), project_conflicting(raw), atol=1e-6)
    for h, g in zip(model.heads, head_grads):
        assert torch.allclose(h.weight.grad, g)


def test_uncertainty_weights_reach_their_closed_form_optimum():
    """For fixed losses L_i, exp(-s) L + s is minimised at s = log L (weight 1 / L)."""
    uw = Uncertainty(2)
    opt = torch.optim.Adam(uw.parameters(), lr=0.05)
    fixed = torch.tensor([4.0, 0.25])
    model = TwoHead()
    for _ in range(600):
        opt.zero_grad()
        uw.backward(list(fixed.clone().requires_grad_(True)), model)
        opt.step()
    assert torch.allclose(uw.log_var.detach(), fixed.log(), atol=1e-2)
    info = uw.backward(list(fixed.clone().requires_grad_(True)), model)
    assert info.weights == pytest.approx((1 / fixed).tolist(), rel=2e-2)


def test_dwa_known_answer():
    dwa = DWA(2, temperature=2.0)
    model = TwoHead()
    for epoch_losses in ([1.0, 2.0], [0.5, 2.0]):
        for _ in range(3):
            info = dwa.backward([torch.tensor(v, requires_grad=True) for v in epoch_losses], model)
            assert info.weights == [1.0, 1.0]  # first two epochs: equal
        dwa.on_epoch_end()
    r = torch.tensor([0.5 / 1.0, 2.0 / 2.0])
    expected = 2 * torch.softmax(r / 2.0, 0)
    info = dwa.backward([torch.tensor(1.0, requires_grad=True)] * 2, model)
    assert info.weights == pytest.approx(expected.tolist())
    assert info.weights[1] > info.weights[0]  # the task that stopped improving gains weight


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


def test_famo_favours_the_task_that_improves_least():
    famo = FAMO(2, lr=0.1, gamma=0.0)
    model = TwoHead()
    losses = [torch.tensor([1.0, 1.0]), torch.tensor([0.5, 0.95]), torch.tensor([0.25, 0.9])]
    for L in losses:
        info = famo.backward(list(L.clone().requires_grad_(True)), model)
    z = torch.softmax(famo.xi.detach(), 0)
    assert z[1] > z[0]  # task 1's log-loss fell less, so its logit rose
    # the network's effective weight on L_i is z_i / (c L_i) with c = sum_j z_j / L_j (z used in that step)
    z_used = torch.tensor([info.extra["famo_z0"], info.extra["famo_z1"]])
    L = losses[-1]
    assert info.weights == pytest.approx((z_used / ((z_used / L).sum() * L)).tolist(), rel=1e-5)


@pytest.mark.parametrize("model_name", ["shared", "detached", "dual"])
@pytest.mark.parametrize("weighting", sorted(set(WEIGHTINGS) - {"upstream_rule"}))
def test_every_weighting_runs_with_every_model(model_name, weighting):
    torch.manual_seed(0)
    model = build_model(model_name, 4, 3, default_anchors(64))
    w = build_weighting(weighting, 2)
    det, view = model(torch.randn(2, 3, 64, 64))
    losses = [sum(d.pow(2).mean() for d in det), nn.functional.cross_entropy(view, torch.tensor([0, 2]))]
    info = w.backward(losses, model, outputs=[det, view])
    assert len(info.weights) == 2 and all(math.isfinite(v) and v >= 0 for v in info.weights)
    grads = [p.grad for p in model.parameters() if p.grad is not None]
    assert grads and all(torch.isfinite(g).all() for g in grads)


NAN, INF = float("nan"), float("inf")


@pytest.mark.parametrize("weighting, options, message", [
    ("gradnorm", {"initial_losses": [0, 1]}, "initial_losses must be 2 finite numbers > 0, got [0, 1]"),
    ("gradnorm", {"initial_losses": [-1, 1]}, "initial_losses must be 2 finite numbers > 0, got [-1, 1]"),
    ("gradnorm", {"initial_losses": [NAN, 1]}, "initial_losses must be 2 finite numbers > 0, got [nan, 1]"),
    ("gradnorm", {"initial_weights": [INF, 1]}, "initial_weights must be 2 finite numbers > 0, got [inf, 1]"),
    ("gradnorm", {"initial_weights": [NAN, 1]}, "initial_weights must be 2 finite numbers > 0, got [nan, 1]"),
    ("gradnorm", {"alpha": NAN}, "alpha must be a finite number >= 0, got nan"),
    ("gradnorm", {"lr": 0}, "lr must be a finite number > 0, got 0"),
    ("gradnorm", {"min_weight": 0}, "min_weight must be a finite number > 0 and < 1, got 0"),
    ("uw", {"initial_log_var": NAN}, "initial_log_var must be a finite number, got nan"),
    ("uw", {"initial_log_var": INF}, "initial_log_var must be a finite number, got inf"),
    ("dwa", {"temperature": 0}, "temperature must be a finite number > 0, got 0"),
    ("dwa", {"temperature": -2}, "temperature must be a finite number > 0, got -2"),
    ("famo", {"lr": 0}, "lr must be a finite number > 0, got 0"),
    ("famo", {"gamma": -0.1}, "gamma must be a finite number >= 0, got -0.1"),
    ("famo", {"eps": 0}, "eps must be a finite number > 0, got 0"),
    ("cagrad", {"c": -0.5}, "c must be a finite number >= 0, got -0.5"),
    ("cagrad", {"c": NAN}, "c must be a finite number >= 0, got nan"),
    ("pcgrad", {"seed": 1.5}, "seed must be an integer >= 0, got 1.5"),
    ("fixed", {"weights": [NAN, 1]}, "weights must be 2 finite numbers >= 0, got [nan, 1]"),
    ("fixed", {"weights": [0, 0]}, "weights must not all be 0"),
    ("upstream_rule", {"alpha": INF}, "alpha must be a finite number >= 0, got inf"),
    ("upstream_rule", {"initial_weights": [0, 1]}, "initial_weights must be 2 finite numbers > 0, got [0, 1]"),
    ("upstream_rule", {"update_every": 0}, "update_every must be an integer >= 1, got 0"),
])
def test_option_values_a_method_cannot_train_with_are_refused_by_the_config(weighting, options, message):
    """Refused when the TrainConfig is built (before data or a model exist), naming the method, option and value."""
    from lib.config import TrainConfig

    with pytest.raises(ValueError, match=re.escape(f"weighting {weighting!r}: {message}")):
        TrainConfig(weighting=weighting, weighting_options=options)


@pytest.mark.parametrize("weighting", sorted(WEIGHTINGS))
def test_every_weighting_reports_a_non_finite_weight_or_state(weighting):
    """``nonfinite`` names a NaN reported value, a NaN weight used, or NaN kept state after the update."""
    from lib.weighting.base import StepInfo

    w = build_weighting(weighting, 2)
    tasks = ("det", "view")
    assert w.nonfinite(StepInfo(weights=[1.0, 0.5], extra={"x": 1.0}), tasks) is None
    assert w.nonfinite(StepInfo(weights=[1.0, 0.5], extra={"gradnorm_loss": NAN}), tasks)[0] == "gradnorm_loss"
    quantity, value = w.nonfinite(StepInfo(weights=[1.0, INF]), tasks)
    assert quantity == "weight w_view" and value == INF
    held = {k: v for k, v in vars(w).items() if torch.is_tensor(v) and v.is_floating_point() and v.numel() == 2}
    for attr, tensor in held.items():
        with torch.no_grad():
            tensor[1] = NAN
        quantity, value = w.nonfinite(StepInfo(weights=[1.0, 1.0]), tasks)
        assert quantity == f"updated {attr}[view]" and math.isnan(value)
        with torch.no_grad():
            tensor[1] = 1.0

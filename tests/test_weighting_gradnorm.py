"""GradNorm (Chen et al. 2018) against hand computation and a slow reference; the upstream report's rule."""
import copy
import math

import numpy as np
import pytest
import torch
from torch import nn

from lib.engine.trainer import Trainer
from lib.upstream.toy import UpstreamToyModel
from lib.weighting import Fixed, GradNorm, Step, UpstreamRule, build_weighting
from tests.helpers.training import small
from tests.helpers.two_head import TwoHead


def squared_losses(model, x):
    return [y.pow(2).mean() for y in model(x)]


def test_hand_computed_first_step():
    # x = 1, W = 2, h = (3, 1): L = (36, 4), dL/dW = 2 y_i h_i = (36, 4).
    model = TwoHead()
    gn = GradNorm(2, alpha=1.5, lr=0.01, optimizer="sgd", initial_losses=[18.0, 4.0])
    info = gn.backward(squared_losses(model, torch.ones(1, 1)), model)
    assert info.weights == [1.0, 1.0]
    G = torch.tensor([36.0, 4.0])
    ratio = torch.tensor([36 / 18, 4 / 4])
    target = G.mean() * (ratio / ratio.mean()) ** 1.5
    grad_w = torch.sign(G - target) * torch.tensor([36.0, 4.0])
    w = torch.ones(2) - 0.01 * grad_w
    w = w * 2 / w.sum()
    assert torch.allclose(torch.tensor(gn.weights), w, atol=1e-6)
    assert info.extra["gradnorm_loss"] == pytest.approx(float((G - target).abs().sum()), rel=1e-6)
    # the network received exactly d(sum_i w_i L_i)/dW with the weights before the update
    assert model.shared.weight.grad.item() == pytest.approx(36.0 + 4.0)


def reference_step(model, x, w, L0, alpha, lr):
    """Slow, plain GradNorm step: per-task autograd on W, L1 objective, SGD on w, renormalise."""
    losses = squared_losses(model, x)
    W = model.shared.weight
    norms = torch.stack([torch.autograd.grad(L, W, retain_graph=True)[0].norm() for L in losses])
    wv = w.clone().requires_grad_(True)
    G = wv * norms
    ratio = torch.stack([L.detach() for L in losses]) / L0
    target = (G.mean() * (ratio / ratio.mean()) ** alpha).detach()
    (gw,) = torch.autograd.grad((G - target).abs().sum(), wv)
    total = sum(wi * L for wi, L in zip(w, losses))
    grads = torch.autograd.grad(total, list(model.parameters()))
    new_w = (w - lr * gw).clamp(min=1e-4)
    return new_w * len(w) / new_w.sum(), grads


def normal_two_head(seed: int) -> "TwoHead":
    """A ``TwoHead(d=4)`` with N(0, 1) weights drawn after ``torch.manual_seed(seed)``."""
    torch.manual_seed(seed)
    model = TwoHead(d=4)
    nn.init.normal_(model.shared.weight)
    for h in model.heads:
        nn.init.normal_(h.weight)
    return model


def test_matches_slow_reference_for_several_steps():
    model = normal_two_head(0)
    ref = copy.deepcopy(model)
    x = torch.randn(8, 4)
    gn = GradNorm(2, alpha=1.5, lr=0.05, optimizer="sgd")
    opt = torch.optim.SGD(model.parameters(), lr=0.01)
    ref_opt = torch.optim.SGD(ref.parameters(), lr=0.01)
    w = torch.ones(2)
    L0 = torch.stack([L.detach() for L in squared_losses(ref, x)])
    for _ in range(5):
        opt.zero_grad()
        gn.backward(squared_losses(model, x), model)
        new_w, grads = reference_step(ref, x, w, L0, 1.5, 0.05)
        for p, g in zip(model.parameters(), grads):
            assert torch.allclose(p.grad, g, atol=1e-6)
        ref_opt.zero_grad()
        for p, g in zip(ref.parameters(), grads):
            p.grad = g.clone()
        opt.step()
        ref_opt.step()
        w = new_w
        assert torch.allclose(torch.tensor(gn.weights), w, atol=1e-6)
        for p, q in zip(model.parameters(), ref.parameters()):
            assert torch.allclose(p, q, atol=1e-6)


def test_weights_stay_positive_and_sum_to_T_with_adam_state_kept():
    torch.manual_seed(1)
    model = UpstreamToyModel()
    gn = GradNorm(2, alpha=1.5, lr=0.5, initial_weights=[1.0, 0.01])
    assert sum(gn.weights) == pytest.approx(2.0)
    opt_id = id(gn.optimizer)
    for step in range(30):
        x = torch.randn(8, 3, 16, 16)
        det, view = model(x)
        losses = [det.pow(2).mean() * 100, view.pow(2).mean()]
        model.zero_grad()
        gn.backward(losses, model)
        assert sum(gn.weights) == pytest.approx(2.0, abs=1e-5)
        assert min(gn.weights) > 0
    assert id(gn.optimizer) == opt_id and gn.optimizer.state[gn.w]["step"] == 30


def test_no_second_order_gradient_reaches_the_network():
    torch.manual_seed(2)
    model = UpstreamToyModel()
    x = torch.randn(4, 3, 8, 8)
    gn = GradNorm(2, alpha=1.5, initial_weights=[1.0, 0.3])
    w = torch.tensor(gn.weights)
    det, view = model(x)
    gn.backward([det.pow(2).mean(), view.abs().mean()], model)
    got = [p.grad.clone() for p in model.parameters()]
    model.zero_grad()
    det, view = model(x)
    (w[0] * det.pow(2).mean() + w[1] * view.abs().mean()).backward()
    for g, p in zip(got, model.parameters()):
        assert torch.allclose(g, p.grad, atol=1e-7)


def test_slowly_trained_task_gains_weight():
    """Task b's targets are noise it cannot learn; task a learns fast: r_b > 1, so w_b rises."""
    torch.manual_seed(3)
    model = TwoHead(d=8)
    nn.init.normal_(model.shared.weight, std=0.3)
    for h in model.heads:
        nn.init.normal_(h.weight, std=0.3)
    gn = GradNorm(2, alpha=1.5, lr=0.02)
    opt = torch.optim.Adam(model.parameters(), lr=1e-2)
    x = torch.randn(64, 8)
    ya = x[:, :1] * 2.0
    for _ in range(150):
        yb = torch.randn(64, 1)
        pa, pb = model(x)
        opt.zero_grad()
        gn.backward([(pa - ya).pow(2).mean(), (pb - yb).pow(2).mean()], model)
        opt.step()
    assert gn.weights[1] > 1.2 > 0.8 > gn.weights[0]


def test_state_roundtrip_continues_identically():
    """w, w's optimizer and L(0) all survive: the reloaded method continues step for step, G and L_grad included."""
    torch.manual_seed(4)
    model = UpstreamToyModel()
    gn = GradNorm(2)
    for _ in range(3):
        det, view = model(torch.randn(4, 3, 8, 8))
        gn.backward([det.pow(2).mean(), view.pow(2).mean()], model)
    clone = GradNorm(2)
    clone.load_state_dict(gn.state_dict())
    assert torch.equal(clone.initial_losses, gn.initial_losses)  # L(0) is the first step's, not the next one's
    for _ in range(3):
        x = torch.randn(4, 3, 8, 8)
        infos = []
        for g in (gn, clone):
            det, view = model(x)
            infos.append(g.backward([det.pow(2).mean(), view.pow(2).mean()], model))
        assert gn.weights == clone.weights
        assert infos[0].extra == infos[1].extra  # gradnorm_loss depends on L(0)


def test_a_method_without_training_state_has_an_empty_state_dict():
    assert Fixed(2).state_dict() == {}  # settings alone are not state


def test_fixed_weights_and_registry():
    model = TwoHead()
    info = Fixed(2, [1.0, 0.01]).backward(squared_losses(model, torch.ones(1, 1)), model)
    assert info.weights == [1.0, 0.01]
    assert model.shared.weight.grad.item() == pytest.approx(36 + 0.04)
    with pytest.raises(ValueError, match="unknown weighting"):
        build_weighting("magic", 2)
    with pytest.raises(ValueError, match="one weight per task"):
        Fixed(2, [1.0])


def test_seed_rule_compounds_to_a_collapse_with_sum_T_squared():
    """Upstream's rule on its toy: CE vs BCE per-logit norms, compounding, mean-normalised to T."""
    torch.manual_seed(0)
    model = UpstreamToyModel()
    opt = torch.optim.Adam(model.parameters(), lr=1e-3)
    rule = UpstreamRule(2, alpha=1.5, initial_weights=(1.0, 0.01), update_every=10)
    seen, ratios = [], []
    for step in range(150):
        x = torch.randn(8, 3, 64, 64)
        y_det = torch.randint(0, 4, (8,))
        y_view = torch.nn.functional.one_hot(torch.randint(0, 4, (8,)), 4).float()
        det, view = model(x)
        losses = [nn.functional.cross_entropy(det, y_det), nn.functional.binary_cross_entropy_with_logits(view, y_view)]
        opt.zero_grad()
        info = rule.backward(losses, Step(model, outputs=[det, view]))
        opt.step()
        seen.append(info.weights)
        if info.extra:
            ratios.append(info.extra["logit_grad_norm0"] / info.extra["logit_grad_norm1"])
    assert seen[0] == [1.0, 0.01] and seen[9] == [1.0, 0.01]  # untouched for the first 9 steps
    assert seen[10] != seen[9] and sum(seen[10]) == pytest.approx(4.0)  # T^2, not T
    det_w = [w[0] for w in seen[10::10]]
    assert all(a > b for a, b in zip(det_w, det_w[1:]))  # compounding: detection weight only falls
    assert min(ratios) > 2.5  # CE's per-logit gradient is structurally larger than BCE's
    assert rule.weights[0] < 1e-3 and rule.weights[1] == pytest.approx(4.0, abs=1e-3)


@pytest.mark.parametrize("bad", [[0.0, 1.0], [-1.0, 1.0], [float("nan"), 1.0], [float("inf"), 1.0], [1.0]])
def test_initial_losses_must_be_finite_and_positive(bad):
    """L_i(0) divides every later loss (Chen et al. 2018, sec. 3.2): 0, negative or non-finite is refused, named."""
    with pytest.raises(ValueError, match=r"initial_losses must be 2 finite numbers > 0, got \[") as e:
        GradNorm(2, initial_losses=bad)
    assert repr(bad) in str(e.value)


def test_a_first_loss_of_zero_waits_for_the_first_positive_loss():
    """Task b's first loss is exactly 0: L_b(0) is its first positive loss; no GradNorm step, and no NaN, before."""
    model = normal_two_head(5)
    x = torch.randn(8, 4)
    gn = GradNorm(2, alpha=1.5, lr=0.05, initial_weights=[1.0, 3.0])
    w0 = list(gn.weights)
    losses = squared_losses(model, x)
    with pytest.warns(RuntimeWarning, match="no positive loss yet for task\\(s\\) b"):
        info = gn.backward([losses[0], losses[1] * 0.0], model)
    assert info.weights == w0 and gn.weights == w0  # used, and kept: no GradNorm step
    assert "gradnorm_loss" not in info.extra and all(math.isfinite(v) for v in info.extra.values())
    assert gn.initial_losses.tolist() == [losses[0].item(), 0.0]
    assert model.shared.weight.grad is not None  # the network still got its gradient with w0

    # The next step has b's first positive loss: it is L_b(0), and this step is a fresh GradNorm's first.
    losses = squared_losses(model, x * 0.5)
    fresh = GradNorm(2, alpha=1.5, lr=0.05, initial_weights=[1.0, 3.0],
                     initial_losses=[gn.initial_losses[0].item(), losses[1].item()])
    info = gn.backward(losses, model)
    fresh.backward(squared_losses(model, x * 0.5), model)
    assert gn.initial_losses.tolist() == fresh.initial_losses.tolist()
    assert gn.weights == fresh.weights != w0 and math.isfinite(info.extra["gradnorm_loss"])
    for _ in range(20):
        info = gn.backward(squared_losses(model, torch.randn(8, 4)), model)
        assert all(math.isfinite(w) and w > 0 for w in gn.weights)
        assert math.isfinite(info.extra["gradnorm_loss"])


def test_losses_all_zero_later_give_equal_rates_not_nan():
    gn = GradNorm(2, initial_losses=[2.0, 3.0])
    assert gn.relative_inverse_rates(torch.zeros(2)).tolist() == [1.0, 1.0]
    assert gn.relative_inverse_rates(torch.tensor([1.0, 3.0])).tolist() == pytest.approx([2 / 3, 4 / 3])


def test_gradnorm_with_a_zero_first_loss_trains_with_finite_weights(eight_images, monkeypatch):
    """A task loss of exactly 0 at step 0: GradNorm waits for its first positive loss (one warning), never NaN."""
    trainer = Trainer(small(eight_images, epochs=3, weighting="gradnorm"), progress=False)
    real = trainer.task_losses

    def zero_first(det_out, view_out, batch):
        losses, items = real(det_out, view_out, batch)
        if trainer.step == 0:
            losses[1] = losses[1] * 0.0
        return losses, items

    monkeypatch.setattr(trainer, "task_losses", zero_first)
    with pytest.warns(RuntimeWarning, match=r"no positive loss yet for task\(s\) view"):
        result = trainer.fit()
    h = result.history
    assert np.isfinite(h[["w_det", "w_view"]].to_numpy()).all()
    assert h.loc[1, ["w_det", "w_view"]].tolist() == [1.0, 1.0]  # step 0 took no GradNorm step
    assert h.loc[2, "w_det"] != 1.0  # step 1 did: L_view(0) is step 1's loss
    assert math.isnan(h.loc[0, "gradnorm_loss"]) and np.isfinite(h["gradnorm_loss"].iloc[1:]).all()

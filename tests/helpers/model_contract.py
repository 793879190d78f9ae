"""The model contract of ``lib.models.base.MultiTaskModel``, as checks any model must pass.

    check_model_contract(model, x, losses_fn)

``losses_fn(outputs) -> list of task losses`` (in ``model.tasks`` order). Used by
``test_model_contract.py`` for every model of the project; a new model adds one line there.
"""
from __future__ import annotations

import copy

import torch

from lib.models import forward_with_boundary
from lib.weighting import GradNorm, Step


def _grads(model) -> dict[str, torch.Tensor | None]:
    return {n: (None if p.grad is None else p.grad.detach().clone()) for n, p in model.named_parameters()}


def check_partition(model) -> None:
    """Shared and per-task parameters: disjoint, and together every trainable parameter."""
    everything = {id(p) for p in model.parameters() if p.requires_grad}
    sets = {"shared": [id(p) for p in model.shared_parameters()]}
    sets.update({t: [id(p) for p in model.task_parameters(t)] for t in model.tasks})
    seen: dict[int, str] = {}
    for name, ids in sets.items():
        assert len(ids) == len(set(ids)), f"{name} lists a parameter twice"
        for i in ids:
            assert i not in seen, f"a parameter is in both {seen[i]} and {name}"
            seen[i] = name
    assert set(seen) == everything, f"{len(everything - set(seen))} parameters belong to no part"
    for t in model.tasks:
        assert model.norm_parameters(t), f"no GradNorm layer for task {t}"
    layered = [id(p) for _, params in model.shared_layers() for p in params]
    assert layered == sets["shared"], "shared_layers() must list shared_parameters() in the same order"


def check_forward_is_heads_of_trunk(model, x) -> None:
    torch.manual_seed(0)
    a = model(x)
    torch.manual_seed(0)
    b = model.forward_heads(model.forward_trunk(x))
    torch.manual_seed(0)
    c, _ = forward_with_boundary(model, x)
    flat = lambda o: [t for t in (o if isinstance(o, (list, tuple)) else [o]) for t in (t if isinstance(t, (list, tuple)) else [t]) if t is not None]  # noqa: E731
    for u, v, w in zip(flat(a), flat(b), flat(c)):
        assert torch.equal(u, v) and torch.equal(u, w)


def check_boundary_gradients(model, x, losses_fn, atol=1e-6) -> None:
    """GradNorm at the boundary (fast path) gives the plain path's gradients on every parameter and weights."""
    state = copy.deepcopy(model.state_dict())
    results = []
    for fast in (True, False):
        model.load_state_dict(state)
        model.zero_grad(set_to_none=True)
        gn = GradNorm(len(model.tasks), alpha=1.5, fast=fast)
        torch.manual_seed(0)
        if gn.wants_boundary(model):
            outputs, boundary = forward_with_boundary(model, x)
        else:
            outputs, boundary = model(x), None
        assert (boundary is not None) == (fast and gn.wants_boundary(model))
        info = gn.backward(losses_fn(outputs), Step(model, boundary=boundary))
        results.append((_grads(model), gn.weights, info.extra["gradnorm_G0"]))
    (g_fast, w_fast, G_fast), (g_plain, w_plain, G_plain) = results
    for name in g_plain:
        a, b = g_fast[name], g_plain[name]
        assert (a is None) == (b is None), f"{name}: gradient on one path only"
        if a is not None:
            assert torch.allclose(a, b, atol=atol, rtol=1e-5), f"{name}: fast path off by {(a - b).abs().max():.3g}"
    assert torch.allclose(torch.tensor(w_fast), torch.tensor(w_plain), atol=1e-6)
    assert abs(G_fast - G_plain) <= 1e-5 * max(1.0, abs(G_plain))


def check_deepcopy_after_forward(model, x, losses_fn) -> None:
    """No graph tensor is kept on a module: copy.deepcopy and AveragedModel work after a training step."""
    gn = GradNorm(len(model.tasks))
    if gn.wants_boundary(model):
        outputs, boundary = forward_with_boundary(model, x)
    else:
        outputs, boundary = model(x), None
    gn.backward(losses_fn(outputs), Step(model, boundary=boundary))
    clone = copy.deepcopy(model)
    assert all(torch.equal(p, q) for p, q in zip(model.parameters(), clone.parameters()))
    torch.optim.swa_utils.AveragedModel(model)
    model(x)  # and after a plain forward
    copy.deepcopy(model)


def check_model_contract(model, x, losses_fn) -> None:
    model.train()
    check_partition(model)
    check_forward_is_heads_of_trunk(model, x)
    check_boundary_gradients(model, x, losses_fn)
    check_deepcopy_after_forward(model, x, losses_fn)

"""Every weighting method against the contract of lib.weighting.base: it runs with every model, refuses options it
cannot train with, reports non-finite values, keeps nn.Module's state plumbing, reads unscaled values under a
GradScaler."""
import math
import re

import pytest
import torch
from torch import nn

from lib.engine.distributed import flat_state
from lib.engine.seeding import own_rng, restore_rng
from lib.models import build_model, default_anchors
from lib.weighting import Step, WEIGHTINGS, build_weighting
from tests.helpers.one_step import trainer


@pytest.mark.parametrize("model_name", ["shared", "detached", "dual"])
@pytest.mark.parametrize("weighting", sorted(set(WEIGHTINGS) - {"upstream_rule"}))
def test_every_weighting_runs_with_every_model(model_name, weighting):
    torch.manual_seed(0)
    model = build_model(model_name, 4, 3, default_anchors(64))
    w = build_weighting(weighting, 2)
    det, view = model(torch.randn(2, 3, 64, 64))
    losses = [sum(d.pow(2).mean() for d in det), nn.functional.cross_entropy(view, torch.tensor([0, 2]))]
    info = w.backward(losses, Step(model, outputs=[det, view]))
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
    held = {k: v for k, v in [*w.named_parameters(), *w.named_buffers()] if v.is_floating_point() and v.numel() == 2}
    for attr, tensor in held.items():
        with torch.no_grad():
            tensor[1] = NAN
        quantity, value = w.nonfinite(StepInfo(weights=[1.0, 1.0]), tasks)
        assert quantity == f"updated {attr}[view]" and math.isnan(value)
        with torch.no_grad():
            tensor[1] = 1.0


# -- the module contract: state in parameters, buffers and extra state; one Step per backward ----------------

def test_every_method_is_a_module_that_keeps_nn_modules_state_plumbing():
    """``to``, ``state_dict``, ``load_state_dict`` and ``parameters`` are nn.Module's: no method writes its own."""
    for cls in WEIGHTINGS.values():
        assert issubclass(cls, nn.Module), cls.__name__
        for attr in ("to", "_apply", "parameters", "state_dict", "load_state_dict", "_load_from_state_dict"):
            assert getattr(cls, attr) is getattr(nn.Module, attr), (cls.__name__, attr)


def test_only_the_uncertainty_log_variances_train_with_the_model():
    """The parameters that require a gradient join the model's optimizer (UW's log-variances); GradNorm's w and
    FAMO's logits are parameters of their own optimizers and require none."""
    trained = {name: [n for n, p in build_weighting(name, 2).named_parameters() if p.requires_grad]
               for name in WEIGHTINGS}
    assert trained == {name: ["log_var"] if name == "uw" else [] for name in WEIGHTINGS}
    assert [n for n, _ in build_weighting("gradnorm", 2).named_parameters()] == ["w"]
    assert [n for n, _ in build_weighting("famo", 2).named_parameters()] == ["xi"]


def test_the_weighting_package_does_not_import_the_engine():
    import subprocess
    import sys

    code = "import sys, lib.weighting; print(sorted(m for m in sys.modules if m.startswith('lib.engine')))"
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    assert out.stdout.strip() == "[]"


def _toy_run(weighting: str, steps: int, resume_at: int | None = None):
    """``steps`` training steps of ``weighting`` on a toy network with the training loop's update, an epoch every
    two steps; with ``resume_at`` the model, optimizer and method are saved before that step (through
    ``torch.save`` / ``torch.load(weights_only=True)``, as a checkpoint) and loaded into fresh ones."""
    import io

    from lib.engine.update import apply_update
    from lib.models import PaperToyModel, forward_with_boundary

    options = {"update_every": 2} if weighting == "upstream_rule" else {}

    def build():
        torch.manual_seed(0)
        model = PaperToyModel(2, d_in=6, d_out=2, hidden=8, depth=2)
        method = build_weighting(weighting, 2, **options)
        trained = [p for p in method.parameters() if p.requires_grad]
        return model, method, torch.optim.Adam(list(model.parameters()) + trained, lr=0.05)

    model, method, opt = build()
    g = torch.Generator().manual_seed(1)
    data = [(torch.randn(8, 6, generator=g), torch.randn(8, 2, generator=g) * 5) for _ in range(steps)]
    infos = []
    for i, (x, y) in enumerate(data):
        if i == resume_at:
            buffer = io.BytesIO()
            torch.save({"model": model.state_dict(), "opt": opt.state_dict(), "method": method.state_dict()}, buffer)
            buffer.seek(0)
            saved = torch.load(buffer, weights_only=True)
            model, method, opt = build()
            model.load_state_dict(saved["model"])
            method.load_state_dict(saved["method"])
            opt.load_state_dict(saved["opt"])
        if method.wants_boundary(model):
            outputs, boundary = forward_with_boundary(model, x)
        else:
            outputs, boundary = model(x), None
        losses = [(outputs[0] - y).pow(2).mean(), (outputs[1] - y).abs().mean()]
        info, _ = apply_update(method, losses, model, opt, outputs=outputs, boundary=boundary)
        infos.append((info.weights, info.extra))
        if i % 2 == 1:
            method.on_epoch_end()
    return infos, torch.cat([p.detach().reshape(-1) for p in model.parameters()]), flat_state([method.state_dict()])


@pytest.mark.parametrize("weighting", sorted(WEIGHTINGS))
def test_every_methods_state_round_trips_through_a_checkpoint(weighting):
    """Saved after 5 steps (mid-epoch, after epochs and updates) and loaded into a fresh method, a run continues
    exactly as the uninterrupted one: same weights and reported values at every step, same parameters and state."""
    whole = _toy_run(weighting, 8)
    resumed = _toy_run(weighting, 8, resume_at=5)
    assert resumed[0] == whole[0]
    assert torch.equal(resumed[1], whole[1]) and torch.equal(resumed[2], whole[2])
    if weighting not in ("fixed", "equal", "cagrad"):  # the stateful ones: the state did change the run
        fresh = build_weighting(weighting, 2, **({"update_every": 2} if weighting == "upstream_rule" else {}))
        assert not torch.equal(flat_state([fresh.state_dict()]), whole[2])


@pytest.mark.parametrize("weighting", sorted(WEIGHTINGS))
def test_to_moves_every_tensor_of_a_methods_state_and_keeps_its_parameters(weighting):
    method = build_weighting(weighting, 2)
    params = list(method.parameters())
    n_tensors = sum(torch.is_tensor(v) for v in method.state_dict().values())
    assert method.to(torch.float64) is method
    assert all(a is b for a, b in zip(params, method.parameters()))  # in place: an optimizer holding them stays valid
    floats = [v for v in method.state_dict().values() if torch.is_tensor(v) and v.is_floating_point()]
    assert all(v.dtype == torch.float64 for v in floats)
    method.to("meta")
    moved = [v for v in method.state_dict().values() if torch.is_tensor(v)]
    assert len(moved) == n_tensors and all(v.device.type == "meta" for v in moved)


def _grads(model) -> list[torch.Tensor]:
    return [p.grad.detach().clone() if p.grad is not None else None for p in model.parameters()]


@pytest.mark.parametrize("weighting", sorted(WEIGHTINGS))
def test_every_weighting_reads_unscaled_values_and_leaves_gradients_scaled_by_the_grad_scale(data, weighting):
    """The GradScaler contract (lib.weighting.base): with Step.scale S every gradient left on a parameter is S x
    the unscaled one, and the weights and everything reported are those of S = 1. S is a power of two, so the
    scaled arithmetic is exact: equal to the last bit."""
    from lib.models import forward_with_boundary
    from lib.weighting import Step, build_weighting

    t = trainer(data, weighting=weighting)
    batch = next(iter(t._loader(0)))
    t.model.train()
    state = {k: v.clone() for k, v in t.model.state_dict().items()}
    results = []
    for scale in (1.0, 2.0 ** 12):
        t.model.load_state_dict(state)
        t.model.zero_grad(set_to_none=True)
        method = build_weighting(weighting, 2)
        with own_rng():
            restore_rng(t.rng)
            if method.wants_boundary(t.model):
                (det, view), boundary = forward_with_boundary(t.model, batch.images)
            else:
                (det, view), boundary = t.model(batch.images), None
            losses, _ = t.task_losses(det, view, batch)
            info = method.backward(losses, Step(t.model, boundary=boundary, outputs=[det, view], scale=scale))
        results.append((_grads(t.model), info, method.state_dict()))
    (g1, info1, state1), (gS, infoS, stateS) = results
    assert info1.weights == infoS.weights and info1.extra == infoS.extra
    assert sum(a is not None for a in g1) > 10
    for a, b in zip(g1, gS):
        assert (a is None) == (b is None)
        if a is not None:
            assert torch.equal(a * 2.0 ** 12, b)
    from lib.engine.distributed import flat_state
    assert torch.equal(flat_state([state1]), flat_state([stateS]))

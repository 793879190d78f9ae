"""bf16 autocast and channels_last in the training step (lib.engine.precision): what runs in which dtype and layout,
agreement with float32 to the precision each allows, every weighting method under bf16, clear refusals."""
import pytest
import torch

from lib.config import ConfigError, TrainConfig
from lib.data import SyntheticConfig, ensure_synthetic
from lib.engine.seeding import own_rng, restore_rng
from lib.engine.trainer import Trainer
from lib.weighting import WEIGHTINGS


@pytest.fixture(scope="module")
def data(tmp_path_factory):
    return str(ensure_synthetic(SyntheticConfig(n_train=8, n_val=4, n_test=4, seed=5),
                                root=tmp_path_factory.mktemp("data")))


def trainer(data, **kw) -> Trainer:
    cfg = TrainConfig(**{**dict(data=data, imgsz=64, batch_size=8, interference_every=0, anchors="default",
                                threads=1, device="cpu", bn_calibration_images=8), **kw})
    return Trainer(cfg, progress=False)


def first_step(data, **kw) -> tuple[dict, Trainer]:
    t = trainer(data, **kw)
    batch = next(iter(t._loader(0)))
    t.model.train()
    with own_rng():  # the run's generators (dropout), as fit() uses them
        restore_rng(t.rng)
        return t.train_step(batch, 0), t


def test_bf16_runs_the_convolutions_in_bf16_and_keeps_losses_weights_and_gradients_float32(data):
    t = trainer(data, amp="bf16", weighting="gradnorm")
    seen = []
    t.model.backbone.stem.conv.register_forward_hook(lambda m, i, o: seen.append(o.dtype))
    batch = next(iter(t._loader(0)))
    t.model.train()
    row = t.train_step(batch, 0)
    assert seen == [torch.bfloat16]  # autocast was on for the forward pass
    assert all(p.dtype == torch.float32 for p in t.model.parameters())
    assert all(p.grad is None or p.grad.dtype == torch.float32 for p in t.model.parameters())
    assert t.weighting.w.dtype == torch.float32 and torch.isfinite(t.weighting.w).all()
    assert all(isinstance(row[k], float) and row[k] == row[k] for k in ("loss_det", "loss_view", "gradnorm_G0"))


def test_bf16_step_agrees_with_float32_to_bf16_precision(data):
    fp32, _ = first_step(data, weighting="fixed")
    bf16, _ = first_step(data, weighting="fixed", amp="bf16")
    for k in ("loss_det", "loss_view", "loss_box", "loss_obj"):
        # bf16 keeps 8 significant bits (relative step 2^-8 = 0.4%); a forward pass of ~60 layers stays
        # within a few percent of float32, far from a different result
        assert bf16[k] == pytest.approx(fp32[k], rel=0.05), k
        assert bf16[k] != fp32[k], k  # and it did change the arithmetic


def test_channels_last_stores_weights_nhwc_and_gives_the_float32_step(data):
    ref, t_ref = first_step(data, weighting="gradnorm")
    cl, t = first_step(data, weighting="gradnorm", memory_format="channels_last")
    convs = [m.weight for m in t.model.modules() if isinstance(m, torch.nn.Conv2d)]
    assert convs and all(w.is_contiguous(memory_format=torch.channels_last) for w in convs)
    assert not all(m.weight.is_contiguous(memory_format=torch.channels_last)
                   for m in t_ref.model.modules() if isinstance(m, torch.nn.Conv2d) and m.kernel_size != (1, 1))
    for k in ("loss_det", "loss_view", "w_det", "w_view", "gradnorm_G0", "gradnorm_G1"):
        assert cl[k] == pytest.approx(ref[k], rel=1e-4, abs=1e-6), k  # same values, another summation order
    # the step's gradients (Adam's first update is about lr x sign(g): compare what it was given). Measured:
    # 4e-4 relative (float32 rounding, amplified through the BatchNorm layers; a rerun is bit-identical)
    g_cl, g_ref = (torch.cat([p.grad.flatten() for p in m.parameters() if p.grad is not None]) for m in (t.model, t_ref.model))
    assert float((g_cl - g_ref).norm() / g_ref.norm()) < 5e-3


@pytest.mark.parametrize("weighting", sorted(WEIGHTINGS))
def test_every_weighting_trains_under_bf16_and_channels_last(data, weighting):
    t = trainer(data, weighting=weighting, amp="bf16", memory_format="channels_last")
    t.model.train()
    before = [p.detach().clone() for p in t.model.parameters()]
    for i, batch in zip(range(2), t._loader(0)):
        row = t.train_step(batch, 0)
        assert all(torch.isfinite(torch.tensor(row[f"w_{task}"])) for task in ("det", "view"))
    moved = sum(not torch.equal(a, p) for a, p in zip(before, t.model.parameters()))
    assert moved > len(before) // 2


def test_amp_on_an_unsupported_device_or_an_unknown_mode_is_refused_by_name():
    assert TrainConfig(amp="fp16").amp == "fp16"
    for changes, field in [({"amp": "fp16", "device": "mps"}, "amp"), ({"amp": "bf16", "device": "mps"}, "amp"),
                           ({"amp": "half"}, "amp"), ({"memory_format": "nhwc"}, "memory_format")]:
        with pytest.raises(ConfigError) as e:
            TrainConfig(**changes)
        assert set(e.value.problems) == {field}, changes


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


def test_a_step_the_grad_scaler_skips_changes_neither_the_model_nor_the_weighting():
    """Overflowing gradients: GradScaler skips the optimizer step and halves its scale; GradNorm's weights, its
    optimizer and its L_i(0) stay as they were. A good scaled step then equals the unscaled step."""
    from lib.models import PaperToyModel, forward_with_boundary
    from lib.engine.update import apply_update
    from lib.weighting import GradNorm

    def setup():
        torch.manual_seed(0)
        model = PaperToyModel(2, d_in=6, d_out=2, hidden=8, depth=2)
        return model, GradNorm(2, alpha=1.0, lr=0.1), torch.optim.SGD(model.parameters(), lr=0.1)

    def step(model, gn, opt, scaler):
        g = torch.Generator().manual_seed(1)
        x = torch.randn(4, 6, generator=g)
        outputs, boundary = forward_with_boundary(model, x)
        losses = [out.pow(2).mean() * s for out, s in zip(outputs, (1.0, 50.0))]
        return apply_update(gn, losses, model, opt, boundary=boundary, scaler=scaler, grad_clip=10.0)

    from lib.engine.distributed import flat_state
    model, gn, opt = setup()
    step(model, gn, opt, None)  # a first step sets L_i(0) and moves w
    params, before = [p.detach().clone() for p in model.parameters()], flat_state([gn.state_dict()])
    overflow = torch.amp.GradScaler("cpu", init_scale=2.0 ** 127)
    _, skipped = step(model, gn, opt, overflow)
    assert skipped and overflow.get_scale() == 2.0 ** 126
    assert all(torch.equal(a, p) for a, p in zip(params, model.parameters()))
    assert torch.equal(flat_state([gn.state_dict()]), before)

    info, skipped = step(model, gn, opt, torch.amp.GradScaler("cpu", init_scale=2.0 ** 10))
    ref_model, ref_gn, ref_opt = setup()
    step(ref_model, ref_gn, ref_opt, None)
    ref_info, _ = step(ref_model, ref_gn, ref_opt, None)
    assert not skipped and info.weights == ref_info.weights and gn.weights == ref_gn.weights
    for p, q in zip(model.parameters(), ref_model.parameters()):
        assert torch.allclose(p, q, rtol=1e-6, atol=1e-7)


def test_fp16_trains_with_a_grad_scaler_on_the_cpu(data):
    t = trainer(data, weighting="gradnorm", amp="fp16", batch_size=2)
    assert t.scaler.get_scale() == 2.0 ** 16  # PyTorch's default
    t.scaler = torch.amp.GradScaler("cpu", init_scale=2.0 ** 40)  # certain to overflow float16 gradients
    seen = []
    t.model.backbone.stem.conv.register_forward_hook(lambda m, i, o: seen.append(o.dtype))
    t.model.train()
    params = [p.detach().clone() for p in t.model.parameters()]
    rows = [t.train_step(batch, 0) for _, batch in zip(range(2), t._loader(0))]
    assert seen[0] == torch.float16 and all(p.dtype == torch.float32 for p in t.model.parameters())
    assert [r["skipped"] for r in rows] == [1, 1] and [r["grad_scale"] for r in rows] == [2.0 ** 39, 2.0 ** 38]
    assert all(torch.equal(a, p) for a, p in zip(params, t.model.parameters()))  # nothing moved ...
    assert t.weighting.weights == [1.0, 1.0] and not t.weighting.initial_losses.any()  # ... GradNorm neither

    # with a scale that does not overflow, the steps are taken and GradNorm reads unscaled norms: float32's,
    # to float16 precision (scaled ones would be 256 times larger)
    t = trainer(data, weighting="gradnorm", amp="fp16", batch_size=2)
    t.scaler = torch.amp.GradScaler("cpu", init_scale=2.0 ** 8)
    t.model.train()
    with own_rng():
        restore_rng(t.rng)
        row = t.train_step(next(iter(t._loader(0))), 0)
    fp32, _ = first_step(data, weighting="gradnorm", batch_size=2)
    assert row["skipped"] == 0
    for k in ("gradnorm_G0", "gradnorm_G1", "loss_det", "loss_view"):
        assert row[k] == pytest.approx(fp32[k], rel=0.05), k


@pytest.mark.parametrize("weighting", sorted(WEIGHTINGS))
def test_every_weighting_survives_an_overflowing_step_and_is_left_as_it_was(weighting):
    """A step whose gradients overflow (an infinite GradScaler scale): no method raises (CAGrad's dual problem on
    non-finite gradients did), the scaler skips, and everything the method holds (its state and its running
    sums, e.g. DWA's) is as before the step."""
    from lib.engine.distributed import flat_state
    from lib.models import PaperToyModel, forward_with_boundary
    from lib.engine.update import apply_update
    from lib.weighting import build_weighting

    torch.manual_seed(0)
    model = PaperToyModel(2, d_in=6, d_out=2, hidden=8, depth=2)
    method = build_weighting(weighting, 2, **({"update_every": 1} if weighting == "upstream_rule" else {}))
    opt = torch.optim.SGD(list(model.parameters()) + [p for p in method.parameters() if p.requires_grad], lr=0.1)

    def step(scaler):
        x = torch.randn(4, 6, generator=torch.Generator().manual_seed(1))
        if method.wants_boundary(model):
            outputs, boundary = forward_with_boundary(model, x)
        else:
            outputs, boundary = model(x), None
        losses = [out.pow(2).mean() * s for out, s in zip(outputs, (1.0, 50.0))]
        return apply_update(method, losses, model, opt, outputs=outputs, boundary=boundary, scaler=scaler)

    def held():
        return flat_state([method.state_dict(), {k: v for k, v in vars(method).items()
                                                 if isinstance(v, (torch.Tensor, int, float, list))}])

    step(None)  # a normal step first: the methods' state is not at its start
    params, before = [p.detach().clone() for p in model.parameters()], held()
    _, skipped = step(torch.amp.GradScaler("cpu", init_scale=float("inf")))  # every gradient overflows
    assert skipped
    assert all(torch.equal(a, p) for a, p in zip(params, model.parameters()))
    assert torch.equal(held(), before)

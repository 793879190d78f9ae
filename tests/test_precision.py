"""bf16 autocast and channels_last in the training step (lib.engine.precision): what runs in which dtype and layout,
agreement with float32 to the precision each allows, every weighting method under bf16, fp16 with a GradScaler."""
import pytest
import torch

from lib.engine.seeding import own_rng, restore_rng
from lib.engine.trainer import Trainer
from lib.weighting import WEIGHTINGS
from tests.helpers.one_step import trainer


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

"""One optimizer step (lib.engine.update): a step the GradScaler skips leaves the model and every weighting as
they were."""
import pytest
import torch

from lib.weighting import WEIGHTINGS


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

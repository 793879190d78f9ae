"""PCGrad (lib.weighting.pcgrad): the conflicting component removed, on the shared parameters only."""
import torch

from lib.weighting import PCGrad, Step, shared_task_gradients
from lib.weighting.pcgrad import project_conflicting
from tests.helpers.two_head import TwoHead, two_task_grads


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
    raw = shared_task_gradients(two_task_grads(model, x, targets), Step(model))
    head_grads = [h.weight.grad.clone() for h in model.heads]
    model.zero_grad(set_to_none=True)
    PCGrad(2).backward(two_task_grads(model, x, targets), model)
    assert torch.allclose(model.shared.weight.grad.flatten(), project_conflicting(raw), atol=1e-6)
    for h, g in zip(model.heads, head_grads):
        assert torch.allclose(h.weight.grad, g)

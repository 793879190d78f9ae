"""GradNorm: Chen, Badrinarayanan, Lee, Rabinovich, ICML 2018, sec. 3.

Learnable weights w_i, for the network loss L = sum_i w_i L_i. Each step:

    G_i   = || grad_W (w_i L_i) ||_2 = w_i || grad_W L_i ||   (W: the last shared layer)
    r_i   = (L_i / L_i(0)) / mean_j (L_j / L_j(0))          (relative inverse training rate)
    Lgrad = sum_i | G_i - [mean_j G_j * r_i^alpha] |         (bracket held constant)

The network steps on grad L with the current w; w steps on d Lgrad / dw with
its own optimizer (kept across steps), then w is renormalised to sum to T.

Cost. Where W is the last shared layer, the trainer runs the model with its
trunk/head boundary as a value (``lib.models.boundary``: the heads read leaf
copies of the trunk's outputs). Each task's gradient is then taken at the
boundary once (head layers walked once, as any weighting does), grad_W L_i
follows from it through W's own part of the trunk, and one combined gradient
goes back through the trunk: GradNorm costs almost nothing over fixed weights.
Without a boundary the norms come from one vectorised backward of every L_i
to W (walking the head layers a second time), followed by the usual backward
of sum_i w_i L_i. Since G_i = w_i ||grad_W L_i||,
no ``create_graph`` is needed, so no second-order term reaches the network.
"""
from __future__ import annotations

import copy
from typing import Sequence

import torch

from .base import StepInfo, Weighting, grad_norm, move_optimizer_state


class GradNorm(Weighting):
    name = "gradnorm"

    def __init__(self, n_tasks: int = 2, alpha: float = 1.5, lr: float = 0.025,
                 initial_weights: Sequence[float] | None = None,
                 initial_losses: Sequence[float] | None = None, min_weight: float = 1e-4,
                 optimizer: str = "adam", layer: str = "last_shared", fast: bool = True):
        """``alpha``: restoring-force strength (0: equal gradient norms). ``lr``: step size of w's optimizer.
        ``initial_weights``: starting w, rescaled to sum to T (default all 1).
        ``initial_losses``: L_i(0); default the first step's losses (e.g. log C for a C-class
        cross-entropy is a theoretical alternative). ``min_weight``: floor that keeps w_i > 0.
        ``optimizer``: ``adam`` (default) or ``sgd`` for the weights; created once, its state kept.
        ``layer``: W, where gradient norms are measured: ``last_shared`` (the paper's choice, cheap) or
        ``all_shared`` (every shared parameter, one backward per task through the backbone, as general
        MTL libraries do; for benchmarks).
        ``fast``: take the task gradients at the trunk/head boundary (same result, less work).
        Raises ``ValueError`` for an option out of range.
        """
        super().__init__(n_tasks)
        if alpha < 0:
            raise ValueError(f"alpha must be >= 0, got {alpha}")
        w0 = torch.ones(n_tasks) if initial_weights is None else torch.tensor([float(w) for w in initial_weights])
        if w0.shape != (n_tasks,) or (w0 <= 0).any():
            raise ValueError(f"initial_weights must be {n_tasks} positive numbers, got {initial_weights}")
        self.alpha = float(alpha)
        self.lr = float(lr)
        self.min_weight = float(min_weight)
        # w has its own optimizer (it minimises L_grad, not the network loss), so parameters() stays empty
        self.w = torch.nn.Parameter(w0 * n_tasks / w0.sum())
        if layer not in ("last_shared", "all_shared"):
            raise ValueError(f"layer must be 'last_shared' or 'all_shared', got {layer!r}")
        self.layer = layer
        self.fast = bool(fast)
        if optimizer not in ("adam", "sgd"):
            raise ValueError(f"optimizer must be 'adam' or 'sgd', got {optimizer!r}")
        opt = torch.optim.Adam if optimizer == "adam" else torch.optim.SGD
        self.optimizer = opt([self.w], lr=self.lr)
        self.initial_losses = None if initial_losses is None else torch.tensor([float(x) for x in initial_losses])

    @property
    def weights(self) -> list[float]:
        return self.w.detach().tolist()

    def wants_boundary(self, model) -> bool:
        return (self.fast and self.layer == "last_shared" and bool(model.shared_parameters())
                and model.last_shared_layer() is not None)

    def task_gradient_norms(self, losses, model) -> torch.Tensor:
        """|| grad_W L_i || for each task, on each task's W (the last shared layer).

        ``losses`` is the list of separate task losses: differentiating an element of
        their stack would also send zeros back through every other task's graph.
        """
        L = torch.stack(list(losses))
        layers = [model.norm_parameters(t) if self.layer == "last_shared" else (
            model.shared_parameters() or model.task_parameters(t)) for t in model.tasks]
        same = all(len(p) == len(layers[0]) and all(a is b for a, b in zip(p, layers[0])) for p in layers)
        if same and self.layer == "last_shared":
            # One layer for every task: all T gradients in one vectorised backward (rows of the identity
            # as grad_outputs) instead of T backward passes.
            grads = torch.autograd.grad(L, layers[0], grad_outputs=torch.eye(len(L), device=L.device, dtype=L.dtype),
                                        retain_graph=True, is_grads_batched=True)
            return torch.cat([g.reshape(len(L), -1) for g in grads], 1).norm(dim=1)
        norms = []
        for i, params in enumerate(layers):
            grads = torch.autograd.grad(losses[i], params, retain_graph=True, allow_unused=True)
            norms.append(grad_norm(grads))
        return torch.stack(norms).to(L.device)

    def boundary_gradients(self, losses, model, boundary) -> tuple[torch.Tensor, callable]:
        """Fast path: (task gradient norms on W, a function applying the weighted network gradient).

        Each task's gradient is taken once with respect to the boundary inputs and every head
        parameter (a parameter a task does not reach gets none), so the result does not depend on
        how the model lists its task modules.
        """
        inputs = list(boundary.inputs)
        shared = {id(p) for p in model.shared_parameters()}
        head_params = [p for p in model.parameters() if p.requires_grad and id(p) not in shared]
        g_inputs, g_params = [], []
        for i in range(self.n_tasks):  # head layers, once per task
            grads = torch.autograd.grad(losses[i], inputs + head_params, retain_graph=True, allow_unused=True)
            g_inputs.append(grads[:len(inputs)])
            g_params.append(grads[len(inputs):])
        W = model.norm_parameters(model.tasks[0])
        norms = [grad_norm(boundary.trunk_gradients(g_inputs[i], W)) for i in range(self.n_tasks)]

        def apply(w: torch.Tensor) -> None:
            for i in range(self.n_tasks):
                for p, g in zip(head_params, g_params[i]):
                    if g is not None:
                        p.grad = w[i] * g if p.grad is None else p.grad + w[i] * g
            combined = []
            for k in range(len(inputs)):
                parts = [w[i] * g_inputs[i][k] for i in range(self.n_tasks) if g_inputs[i][k] is not None]
                combined.append(torch.stack(parts).sum(0) if parts else None)
            boundary.backward(combined)  # the trunk, once

        return torch.stack(norms).to(losses[0].device), apply

    def backward(self, losses, model, outputs=None, boundary=None) -> StepInfo:
        L = self._check(losses)
        if self.w.device != L.device:
            self.to(L.device)
        if self.initial_losses is None:
            self.initial_losses = L.detach().clone()
        if boundary is not None:
            norms, apply = self.boundary_gradients(list(losses), model, boundary)
        else:
            norms = self.task_gradient_norms(list(losses), model)

            def apply(w):
                (w * L).sum().backward()

        w = self.w.detach().clone()
        apply(w)

        G = self.w * norms  # only w carries a gradient
        target = (G.mean() * self.relative_inverse_rates(L.detach()) ** self.alpha).detach()
        gradnorm_loss = (G - target).abs().sum()
        self.optimizer.zero_grad(set_to_none=True)
        gradnorm_loss.backward()
        self.optimizer.step()
        self.renormalise()

        extra = {f"gradnorm_G{i}": float(g) for i, g in enumerate(G.detach())}
        extra["gradnorm_loss"] = float(gradnorm_loss.detach())
        return StepInfo(weights=w.tolist(), extra=extra)

    def relative_inverse_rates(self, L: torch.Tensor) -> torch.Tensor:
        ratio = L / self.initial_losses.to(L.device)
        return ratio / ratio.mean()

    @torch.no_grad()
    def renormalise(self) -> None:
        """Keep every weight positive and the sum at T (the paper's renormalisation)."""
        self.w.clamp_(min=self.min_weight)
        self.w.mul_(self.n_tasks / self.w.sum())

    def to(self, device) -> "GradNorm":
        with torch.no_grad():
            self.w.data = self.w.data.to(device)
        move_optimizer_state(self.optimizer, device)
        return self

    def state_dict(self) -> dict:
        # deep copy: torch shares the 'step' tensor between an optimizer and a state_dict loaded from it
        return {"w": self.w.detach().cpu().clone(), "optimizer": copy.deepcopy(self.optimizer.state_dict()),
                "initial_losses": None if self.initial_losses is None else self.initial_losses.cpu().clone()}

    def load_state_dict(self, state: dict) -> None:
        device = self.w.device
        with torch.no_grad():
            self.w.data = state["w"].clone().to(device)
        self.optimizer.load_state_dict(state["optimizer"])
        move_optimizer_state(self.optimizer, device)
        self.initial_losses = None if state["initial_losses"] is None else state["initial_losses"].clone()

"""GradNorm: Chen, Badrinarayanan, Lee, Rabinovich, ICML 2018, sec. 3.

Learnable weights w_i, for the network loss L = sum_i w_i L_i. Each step:

    G_i   = || grad_W (w_i L_i) ||_2 = w_i || grad_W L_i ||   (W: the last shared layer)
    r_i   = (L_i / L_i(0)) / mean_j (L_j / L_j(0))          (relative inverse training rate)
    Lgrad = sum_i | G_i - [mean_j G_j * r_i^alpha] |         (bracket held constant)

The network steps on grad L with the current w; w steps on d Lgrad / dw with
its own optimizer (kept across steps), then w is renormalised to sum to T.

Updating w. The paper (sec. 3.2 and Algorithm 1) differentiates L_grad with
respect to each w_i only, with the targets held constant, and applies that
gradient "via standard update rules"; it names no optimizer or learning rate
for w. The gradient is d Lgrad / d w_i = sign(G_i - target_i) ||grad_W L_i||:
alpha enters only through the sign. Adam (this class's default, ``optimizer``)
divides each gradient by its running magnitude, so every w_i moves by about
``lr`` per step whatever alpha is (alpha decides the direction, ``lr`` the
pace, e.g. w_det 1 -> 1 + lr after the first step for any alpha); SGD moves
w_i by ``lr`` x ||grad_W L_i||, a pace that follows the gradient norms. An
alpha sweep at one Adam rate therefore mostly measures that rate; the report's
findings section sweeps the optimizer and its rate beside alpha.

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

L_i(0). The paper (sec. 3.2) defines the loss ratio L~_i(t) = L_i(t) / L_i(0)
from the task's initial loss, so L_i(0) must be positive: a ratio over 0 is
0/0 or infinite and would make every later r_i, and with it L_grad and w,
NaN. Given ``initial_losses`` must therefore be finite and > 0 (``ValueError``
otherwise). Observed, L_i(0) is the first *positive* loss of task i, not
simply the first step's: a task whose loss is 0 (or below) at the start, e.g.
a task absent from the first batch, sets its L_i(0) at its first step with a
positive loss. Until every task has one, r is undefined for all tasks (its
mean runs over every task), so no GradNorm step is taken: the network trains
with w as it is (the initial weights), ``gradnorm_loss`` is not reported for
those steps (the history leaves the cell empty), and one warning says so.
Should every task's loss later be exactly 0, r_i = 1 for all (nothing to
balance) rather than 0/0. Losses must be >= 0, as the ratio assumes.

Several processes (``lib.engine.distributed``): the norms are of the global batch's
gradients on W (each task's gradient on W, a small tensor, is averaged over
ranks before its norm is taken) and the rates use the global task losses, so
w and its optimizer stay identical on every rank. Under float16 with a
GradScaler the norms are taken from unscaled gradients (``Step.scale``).
"""
from __future__ import annotations

import copy
import warnings
from typing import Sequence

import torch

from .base import StepInfo, Weighting, finite_number, finite_numbers, global_gradients, grad_norm, move_optimizer_state
from .step import Step


class GradNorm(Weighting):
    name = "gradnorm"

    def __init__(self, n_tasks: int = 2, alpha: float = 1.5, lr: float = 0.025,
                 initial_weights: Sequence[float] | None = None,
                 initial_losses: Sequence[float] | None = None, min_weight: float = 1e-4,
                 optimizer: str = "adam", layer: str = "last_shared", fast: bool = True):
        """``alpha``: restoring-force strength (0: equal gradient norms). ``lr``: step size of w's optimizer.
        ``initial_weights``: starting w, rescaled to sum to T (default all 1).
        ``initial_losses``: L_i(0), each finite and > 0; default each task's first positive loss (see
        the module's note; log C for a C-class cross-entropy is a theoretical alternative).
        ``min_weight``: floor that keeps w_i > 0, in (0, 1) (the weights average 1).
        ``optimizer``: ``adam`` (default) or ``sgd`` for the weights; created once, its state kept.
        ``layer``: W, where gradient norms are measured: ``last_shared`` (the paper's choice, cheap) or
        ``all_shared`` (every shared parameter, one backward per task through the backbone, as general
        MTL libraries do; for benchmarks).
        ``fast``: take the task gradients at the trunk/head boundary (same result, less work).
        Raises ``ValueError`` for an option out of range.
        """
        super().__init__(n_tasks)
        self.alpha = finite_number("alpha", alpha, 0)
        self.lr = finite_number("lr", lr, 0, strict=True)
        self.min_weight = finite_number("min_weight", min_weight, 0, strict=True, maximum=1)
        w0 = torch.ones(n_tasks) if initial_weights is None else torch.tensor(
            finite_numbers("initial_weights", initial_weights, n_tasks, 0, strict=True))
        w0 = w0 * n_tasks / w0.sum()
        if not (torch.isfinite(w0).all() and (w0 > 0).all()):  # e.g. an overflowing sum
            raise ValueError(f"initial_weights must be {n_tasks} finite numbers > 0 of finite sum, "
                             f"got {initial_weights!r}")
        # w has its own optimizer (it minimises L_grad, not the network loss): no gradient of the network's loss
        # reaches it, so it stays out of the model's optimizer
        self.w = torch.nn.Parameter(w0, requires_grad=False)
        if layer not in ("last_shared", "all_shared"):
            raise ValueError(f"layer must be 'last_shared' or 'all_shared', got {layer!r}")
        self.layer = layer
        self.fast = bool(fast)
        if optimizer not in ("adam", "sgd"):
            raise ValueError(f"optimizer must be 'adam' or 'sgd', got {optimizer!r}")
        opt = torch.optim.Adam if optimizer == "adam" else torch.optim.SGD
        self.optimizer = opt([self.w], lr=self.lr)
        # L_i(0) for each task; 0 where task i has not had a positive loss yet. float64: it holds losses of any
        # precision exactly (they are read back in the losses' dtype)
        L0 = torch.zeros(n_tasks) if initial_losses is None else torch.tensor(
            finite_numbers("initial_losses", initial_losses, n_tasks, 0, strict=True))
        self.register_buffer("initial_losses", L0.double())
        self._warned = False

    @property
    def weights(self) -> list[float]:
        return self.w.detach().tolist()

    def wants_boundary(self, model) -> bool:
        return (self.fast and self.layer == "last_shared" and bool(model.shared_parameters())
                and model.last_shared_layer() is not None)

    def task_gradient_norms(self, losses, step: Step) -> torch.Tensor:
        """|| grad_W L_i || for each task, on each task's W (the last shared layer).

        ``losses`` is the list of separate task losses: differentiating an element of
        their stack would also send zeros back through every other task's graph.
        """
        model, scale = step.model, step.scale
        L = torch.stack(list(losses))
        layers = [model.norm_parameters(t) if self.layer == "last_shared" else (
            model.shared_parameters() or model.task_parameters(t)) for t in model.tasks]
        same = all(len(p) == len(layers[0]) and all(a is b for a, b in zip(p, layers[0])) for p in layers)
        if same and self.layer == "last_shared":
            # One layer for every task: all T gradients in one vectorised backward (rows of the identity
            # as grad_outputs) instead of T backward passes.
            eye = torch.eye(len(L), device=L.device, dtype=L.dtype) * scale
            grads = torch.autograd.grad(L, layers[0], grad_outputs=eye, retain_graph=True, is_grads_batched=True)
            flat = torch.cat([g.reshape(len(L), -1) for g in grads], 1)
            return step.reduce(flat if scale == 1.0 else flat / scale).norm(dim=1)
        norms = []
        for i, params in enumerate(layers):
            grads = torch.autograd.grad(step.scaled(losses[i]), params, retain_graph=True, allow_unused=True)
            norms.append(grad_norm(global_gradients(grads, step)))
        return torch.stack(norms).to(L.device)

    def boundary_gradients(self, losses, step: Step) -> tuple[torch.Tensor, callable]:
        """Fast path: (task gradient norms on W, a function applying the weighted network gradient).

        Each task's gradient is taken once with respect to the boundary inputs and every head
        parameter (a parameter a task does not reach gets none), so the result does not depend on
        how the model lists its task modules.
        """
        model, boundary = step.model, step.boundary
        inputs = list(boundary.inputs)
        shared = {id(p) for p in model.shared_parameters()}
        head_params = [p for p in model.parameters() if p.requires_grad and id(p) not in shared]
        g_inputs, g_params = [], []
        for i in range(self.n_tasks):  # head layers, once per task (scaled gradients: they are applied)
            grads = torch.autograd.grad(step.scaled(losses[i]), inputs + head_params, retain_graph=True,
                                        allow_unused=True)
            g_inputs.append(grads[:len(inputs)])
            g_params.append(grads[len(inputs):])
        W = model.norm_parameters(model.tasks[0])
        norms = [grad_norm(global_gradients(boundary.trunk_gradients(g_inputs[i], W), step))
                 for i in range(self.n_tasks)]

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

    def combine(self, losses, step: Step) -> StepInfo:
        L = torch.stack(losses)
        if self.w.device != L.device:
            self.to(L.device)
        L_global = step.reduce(L.detach())  # the global batch's losses: ratios and rates
        ready = self.observe_initial_losses(L_global, step.model)
        if step.boundary is not None:
            norms, apply = self.boundary_gradients(losses, step)
        else:
            norms = self.task_gradient_norms(losses, step)

            def apply(w):
                step.scaled((w * L).sum()).backward()

        w = self.w.detach().clone()
        apply(w)

        w_leaf = self.w.detach().requires_grad_()  # w as it is, the one tensor L_grad is differentiated by
        G = w_leaf * norms
        gradnorm_loss = None
        if ready:  # else r is undefined: w stays as it is (see the module's note on L_i(0))
            target = (G.mean() * self.relative_inverse_rates(L_global) ** self.alpha).detach()
            gradnorm_loss = (G - target).abs().sum()
            (self.w.grad,) = torch.autograd.grad(gradnorm_loss, w_leaf)
            move_optimizer_state(self.optimizer, self.w.device)  # the moments follow w (nn.Module.to moves w only)
            self.optimizer.step()
            self.renormalise()

        extra = {f"gradnorm_G{i}": float(g) for i, g in enumerate(G.detach())}
        if gradnorm_loss is not None:
            extra["gradnorm_loss"] = float(gradnorm_loss.detach())
        return StepInfo(weights=w.tolist(), extra=extra)

    def observe_initial_losses(self, L: torch.Tensor, model=None) -> bool:
        """Record L_i(0) for every task that has its first positive loss in ``L``; True once every task has one."""
        L0 = self.initial_losses.to(L)
        L0 = torch.where(L0 > 0, L0, torch.where(torch.isfinite(L) & (L > 0), L, 0.0))
        self.initial_losses.copy_(L0)
        ready = bool((L0 > 0).all())
        if not ready and not self._warned:
            self._warned = True
            names = list(getattr(model, "tasks", None) or [])
            names = names if len(names) == self.n_tasks else [str(i) for i in range(self.n_tasks)]
            waiting = [names[i] for i in (L0 <= 0).nonzero().flatten().tolist()]
            warnings.warn(f"GradNorm: no positive loss yet for task(s) {', '.join(waiting)}, so L_i(0) is not "
                          "known; the weights stay at their initial values, without GradNorm steps, until every "
                          "task has had a positive loss", RuntimeWarning, stacklevel=4)
        return ready

    def relative_inverse_rates(self, L: torch.Tensor) -> torch.Tensor:
        """r_i = (L_i / L_i(0)) / mean_j (L_j / L_j(0)); all 1 when every loss is 0 (nothing to balance)."""
        ratio = L / self.initial_losses.to(L)
        mean = ratio.mean()
        return torch.where(mean > 0, ratio / mean, torch.ones_like(ratio))

    @torch.no_grad()
    def renormalise(self) -> None:
        """Keep every weight positive and the sum at T (the paper's renormalisation)."""
        self.w.clamp_(min=self.min_weight)
        self.w.mul_(self.n_tasks / self.w.sum())

    def get_extra_state(self) -> dict:
        # a copy: torch shares the 'step' tensor between an optimizer and a state_dict loaded from it
        return {"optimizer": copy.deepcopy(self.optimizer.state_dict())}

    def set_extra_state(self, state: dict) -> None:
        self.optimizer.load_state_dict(copy.deepcopy(state["optimizer"]))  # moves the moments to w's device

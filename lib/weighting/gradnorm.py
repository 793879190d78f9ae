"""GradNorm: Chen, Badrinarayanan, Lee, Rabinovich, ICML 2018, sec. 3.

Learnable weights w_i, for the network loss L = sum_i w_i L_i. Each step:

    G_i   = || grad_W (w_i L_i) ||_2 = w_i || grad_W L_i ||   (W: the last shared layer)
    r_i   = (L_i / L_i(0)) / mean_j (L_j / L_j(0))          (relative inverse training rate)
    Lgrad = sum_i | G_i - [mean_j G_j * r_i^alpha] |         (bracket held constant)

The network steps on grad L with the current w; w steps on d Lgrad / dw with
its own optimizer (kept across steps), then w is renormalised to sum to T.

Cost. Where the model exposes the tensors its trunk hands to the heads
(``shared_outputs``), each task's gradient is taken there once (task-specific
layers walked once, as any weighting does), grad_W L_i follows from it through
the probe layer alone, and one combined gradient goes back through the trunk:
GradNorm then costs almost nothing over fixed weights. Otherwise the norms come
from one vectorised backward of every L_i to W (walking the task-specific
layers a second time), followed by the usual backward of sum_i w_i L_i. Since G_i = w_i ||grad_W L_i||,
no ``create_graph`` is needed, so no second-order term reaches the network.
"""
from __future__ import annotations

import copy
from typing import Sequence

import torch

from .base import StepInfo, Weighting, grad_norm


class GradNorm(Weighting):
    name = "gradnorm"

    def __init__(self, n_tasks: int = 2, alpha: float = 1.5, lr: float = 0.025,
                 initial_weights: Sequence[float] | None = None,
                 initial_losses: Sequence[float] | None = None, min_weight: float = 1e-4,
                 optimizer: str = "adam", probe: str = "last_shared", fast: bool = True):
        """``alpha``: restoring-force strength (0: equal gradient norms). ``lr``: Adam step of w.
        ``initial_weights``: starting w, rescaled to sum to T (default all 1).
        ``initial_losses``: L_i(0); default the first step's losses (e.g. log C for a C-class
        cross-entropy is a theoretical alternative). ``min_weight``: floor that keeps w_i > 0.
        ``optimizer``: ``adam`` (default) or ``sgd`` for the weights; created once, its state kept.
        ``probe``: ``last_shared`` (the paper's W, cheap) or ``all_shared`` (every shared parameter,
        one backward per task through the backbone, as general MTL libraries do; for benchmarks).
        ``fast``: use the model's ``shared_outputs`` when it has them (same result, less work).
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
        self.w = torch.nn.Parameter(w0 * n_tasks / w0.sum())
        if probe not in ("last_shared", "all_shared"):
            raise ValueError(f"probe must be 'last_shared' or 'all_shared', got {probe!r}")
        self.probe = probe
        self.fast = bool(fast)
        if optimizer not in ("adam", "sgd"):
            raise ValueError(f"optimizer must be 'adam' or 'sgd', got {optimizer!r}")
        opt = torch.optim.Adam if optimizer == "adam" else torch.optim.SGD
        self.optimizer = opt([self.w], lr=self.lr)
        self.initial_losses = None if initial_losses is None else torch.tensor([float(x) for x in initial_losses])

    @property
    def weights(self) -> list[float]:
        return self.w.detach().tolist()

    def task_gradient_norms(self, losses, model) -> torch.Tensor:
        """|| grad_W L_i || for each task, on each task's probe layer (the last shared layer).

        ``losses`` is the list of separate task losses: differentiating an element of
        their stack would also send zeros back through every other task's graph.
        """
        L = torch.stack(list(losses))
        probes = [model.probe_parameters(t) if self.probe == "last_shared" else (
            model.shared_parameters() or model.task_parameters(t)) for t in model.tasks]
        same = all(len(p) == len(probes[0]) and all(a is b for a, b in zip(p, probes[0])) for p in probes)
        if same and self.probe == "last_shared":
            # One layer for every task: all T gradients in one vectorised backward (rows of the identity
            # as grad_outputs) instead of T backward passes.
            grads = torch.autograd.grad(L, probes[0], grad_outputs=torch.eye(len(L), device=L.device, dtype=L.dtype),
                                        retain_graph=True, is_grads_batched=True)
            return torch.cat([g.reshape(len(L), -1) for g in grads], 1).norm(dim=1)
        norms = []
        for i, params in enumerate(probes):
            grads = torch.autograd.grad(losses[i], params, retain_graph=True, allow_unused=True)
            norms.append(grad_norm(grads))
        return torch.stack(norms).to(L.device)

    def boundary_gradients(self, losses, model, features) -> tuple[torch.Tensor, callable]:
        """Fast path: (task gradient norms on W, a function applying the weighted network gradient)."""
        feats = list(features)
        task_params = [model.task_parameters(t) for t in model.tasks]
        g_feats, g_params = [], []
        for i in range(self.n_tasks):  # task-specific layers, once per task
            grads = torch.autograd.grad(losses[i], feats + task_params[i], retain_graph=True, allow_unused=True)
            g_feats.append(grads[:len(feats)])
            g_params.append(grads[len(feats):])
        W = model.probe_parameters(model.tasks[0])
        norms = []
        for i in range(self.n_tasks):  # from the boundary to W: only the probe layer's own backward
            pairs = [(f, g) for f, g in zip(feats, g_feats[i]) if g is not None]
            gw = torch.autograd.grad([f for f, _ in pairs], W, grad_outputs=[g for _, g in pairs],
                                     retain_graph=True, allow_unused=True) if pairs else [None]
            norms.append(grad_norm(gw))

        def apply(w: torch.Tensor) -> None:
            for i in range(self.n_tasks):
                for p, g in zip(task_params[i], g_params[i]):
                    if g is not None:
                        p.grad = w[i] * g if p.grad is None else p.grad + w[i] * g
            outs, grads = [], []
            for k, f in enumerate(feats):
                parts = [w[i] * g_feats[i][k] for i in range(self.n_tasks) if g_feats[i][k] is not None]
                if parts:
                    outs.append(f)
                    grads.append(torch.stack(parts).sum(0))
            torch.autograd.backward(outs, grad_tensors=grads)  # the trunk, once

        return torch.stack(norms).to(losses[0].device), apply

    def backward(self, losses, model, outputs=None) -> StepInfo:
        L = self._check(losses)
        if self.w.device != L.device:
            self._to(L.device)
        if self.initial_losses is None:
            self.initial_losses = L.detach().clone()
        features = model.shared_outputs() if self.probe == "last_shared" and self.fast else None
        if features and model.last_shared_layer() is not None:
            norms, apply = self.boundary_gradients(list(losses), model, features)
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

    def _to(self, device) -> None:
        with torch.no_grad():
            self.w.data = self.w.data.to(device)
        for state in self.optimizer.state.values():
            for k, v in state.items():
                if torch.is_tensor(v) and v.dim() > 0:
                    state[k] = v.to(device)

    def state_dict(self) -> dict:
        # deep copy: torch shares the 'step' tensor between an optimizer and a state_dict loaded from it
        return {"w": self.w.detach().cpu().clone(), "optimizer": copy.deepcopy(self.optimizer.state_dict()),
                "initial_losses": None if self.initial_losses is None else self.initial_losses.cpu().clone()}

    def load_state_dict(self, state: dict) -> None:
        with torch.no_grad():
            self.w.data = state["w"].clone()
        self.optimizer.load_state_dict(state["optimizer"])
        self.initial_losses = state["initial_losses"]

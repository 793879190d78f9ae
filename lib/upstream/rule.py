"""Upstream's "GradNorm" rule, re-implemented only to replay the upstream report's table. NOT GradNorm.

What the upstream report's code did (UPSTREAM_FINDINGS), step by step:
  * weights stay at their initial values, e.g. (1.0, 0.01), between updates;
  * every ``update_every``-th step: n_i = || d L_i / d logits_i || (unweighted loss,
    gradient w.r.t. the task's own output logits, not a shared layer);
  * the average norm is frozen at its first value, n0;
  * target_i = n0 * r_i^alpha with r_i the relative inverse training rate;
  * w_i <- w_i * target_i / n_i (compounding from update to update);
  * w <- w / mean(w) * T, so the weights sum to T^2 (4 for two tasks), not T.
Nothing is learned, and n_i does not respond to w_i, so whenever the per-logit
norms differ structurally (cross-entropy vs BCE) the ratio compounds and one
weight runs to 0 while the other takes the whole sum T^2.

``rates_from_weighted_losses=True`` is a hypothesis, not part of the documented
rule: r_i computed from the weighted losses w_i L_i. That feeds the weights
back into their own update (the ratio then grows by (n_det / n_view)^(1 + alpha)
at the second update), which is what the upstream report's printed second value suggests.
"""
from __future__ import annotations

from typing import Sequence

import torch

from ..weighting.base import StepInfo, Weighting, finite_number, finite_numbers, grad_norm, whole_number
from ..weighting.step import Step


def _tensors(output) -> list[torch.Tensor]:
    """A task's output as a list of tensors (detection outputs are one raw map per pyramid level)."""
    return list(output) if isinstance(output, (list, tuple)) else [output]


class UpstreamRule(Weighting):
    name = "upstream_rule"

    def __init__(self, n_tasks: int = 2, alpha: float = 1.5, initial_weights: Sequence[float] = (1.0, 0.01),
                 update_every: int = 10, rates_from_weighted_losses: bool = False):
        """``alpha`` finite, >= 0; ``initial_weights`` one finite number > 0 per task; ``update_every`` an
        integer >= 1. ValueError otherwise. A first loss of 0 makes the upstream report's ratio 0/0 as upstream's did;
        the training loop then stops on the non-finite weight."""
        super().__init__(n_tasks)
        self.rates_from_weighted_losses = bool(rates_from_weighted_losses)
        self.alpha = finite_number("alpha", alpha, 0)
        self.update_every = whole_number("update_every", update_every, 1)
        # float64 buffers; the arithmetic runs on CPU copies, wherever .to() puts them
        self.register_buffer("w", torch.tensor(
            finite_numbers("initial_weights", initial_weights, n_tasks, 0, strict=True), dtype=torch.float64))
        self.register_buffer("steps", torch.zeros((), dtype=torch.int64))
        self.register_buffer("initial_losses", torch.zeros(n_tasks, dtype=torch.float64))  # set at step 1
        self.register_buffer("initial_mean_norm", torch.zeros((), dtype=torch.float64))  # set at the first update

    def combine(self, losses, step: Step) -> StepInfo:
        if step.outputs is None:
            raise ValueError("UpstreamRule measures gradients on the task outputs: pass them in Step(outputs=...)")
        L = torch.stack(losses)
        self.steps += 1
        steps = int(self.steps)
        w_used = self.w.cpu().clone()
        L_global = step.reduce(L.detach()).double().cpu()  # the global batch's losses
        observed = L_global * (w_used if self.rates_from_weighted_losses else 1.0)
        if steps == 1:
            self.initial_losses.copy_(observed)
        extra: dict[str, float] = {}
        if steps % self.update_every == 0:
            norms = torch.stack([grad_norm(torch.autograd.grad(step.scaled(losses[i]), _tensors(step.outputs[i]),
                                                               retain_graph=True)) / step.scale
                                 for i in range(self.n_tasks)]).double()
            # the global batch's logits are every rank's, and d(mean_r L^r)/d logits^r = (1/R) dL^r/d logits^r:
            # ||global||^2 = sum_r ||g^r||^2 / R^2 = mean_r ||g^r||^2 / R
            size = step.ranks
            norms = (norms if size == 1 else (step.reduce(norms.pow(2)) / size).sqrt()).cpu()
            if steps == self.update_every:  # the first update: the average norm is frozen at its value
                self.initial_mean_norm.fill_(float(norms.mean()))
            ratio = observed / self.initial_losses.cpu()
            target = float(self.initial_mean_norm) * (ratio / ratio.mean()) ** self.alpha
            w = w_used * target / norms
            self.w.copy_(w / w.mean() * self.n_tasks)
            extra = {f"logit_grad_norm{i}": float(n) for i, n in enumerate(norms)}
            extra["updated"] = 1.0
        step.scaled((L * w_used.to(L.dtype).to(L.device)).sum()).backward()
        return StepInfo(weights=w_used.tolist(), extra=extra)

    @property
    def weights(self) -> list[float]:
        return self.w.tolist()

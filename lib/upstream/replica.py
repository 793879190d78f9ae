"""Replay of the upstream report's GradNorm test (UPSTREAM_FINDINGS), with the rule swappable.

The upstream report's toy: ``UpstreamToyModel`` (1,224 parameters); every batch is fresh
N(0, 1) noise images (8, 3, 64, 64) with a random "detection" class
(cross-entropy on head 1) and a random one-hot "classification" target (BCE
with logits on head 2); Adam lr 1e-3; 5 epochs x 10 batches; initial weights
detection 1.0, classification 0.01; alpha 1.5. Nothing in the data can be
learned except the label priors, so the weights are all there is to watch.

Rules: ``seed`` (upstream's, documented), ``upstream_weighted_rates`` (the same
with rates from weighted losses, a hypothesis), ``gradnorm`` (ours, Chen et
al. 2018), ``fixed`` (weights never change).
"""
from __future__ import annotations

import time
from dataclasses import dataclass

import pandas as pd
import torch
import torch.nn.functional as F

from ..models import count_parameters
from .toy import UpstreamToyModel
from ..weighting import Fixed, GradNorm, Step, UpstreamRule

RULES = ("upstream", "upstream_weighted_rates", "gradnorm", "fixed")


@dataclass(frozen=True)
class ReplicaConfig:
    epochs: int = 5
    batches: int = 10                  # batches per epoch
    batch_size: int = 8
    image_size: int = 64
    n_classes: int = 4                 # the upstream report's num_classes, for both heads
    lr: float = 1e-3                   # Adam, the network
    alpha: float = 1.5
    initial_weights: tuple[float, float] = (1.0, 0.01)  # detection, classification
    update_every: int = 10             # the upstream rule's update period (steps)
    gradnorm_lr: float = 0.025         # our GradNorm's weight learning rate
    seed: int = 0


@dataclass
class ReplicaResult:
    rule: str
    history: pd.DataFrame  # one row per step: epoch, batch, losses, weights used, weights after
    seconds: float          # wall time of the 50 training steps (data generation included, as in the seed)
    parameters: int


def make_rule(rule: str, cfg: ReplicaConfig):
    if rule == "upstream":
        return UpstreamRule(2, cfg.alpha, cfg.initial_weights, cfg.update_every)
    if rule == "upstream_weighted_rates":
        return UpstreamRule(2, cfg.alpha, cfg.initial_weights, cfg.update_every, rates_from_weighted_losses=True)
    if rule == "gradnorm":
        return GradNorm(2, alpha=cfg.alpha, lr=cfg.gradnorm_lr, initial_weights=cfg.initial_weights)
    if rule == "fixed":
        return Fixed(2, cfg.initial_weights)
    raise ValueError(f"unknown rule {rule!r}; choose one of {RULES}")


def run_replica(rule: str, cfg: ReplicaConfig = ReplicaConfig()) -> ReplicaResult:
    torch.manual_seed(cfg.seed)
    gen = torch.Generator().manual_seed(cfg.seed + 1)
    model = UpstreamToyModel(n_out=cfg.n_classes)
    optimizer = torch.optim.Adam(model.parameters(), lr=cfg.lr)
    weighting = make_rule(rule, cfg)
    rows = []
    start = time.perf_counter()
    for epoch in range(cfg.epochs):
        for batch in range(cfg.batches):
            x = torch.randn(cfg.batch_size, 3, cfg.image_size, cfg.image_size, generator=gen)
            y_det = torch.randint(0, cfg.n_classes, (cfg.batch_size,), generator=gen)
            y_view = F.one_hot(torch.randint(0, cfg.n_classes, (cfg.batch_size,), generator=gen), cfg.n_classes).float()
            det, view = model(x)
            losses = [F.cross_entropy(det, y_det), F.binary_cross_entropy_with_logits(view, y_view)]
            optimizer.zero_grad(set_to_none=True)
            info = weighting.backward(losses, Step(model, outputs=[det, view]))
            optimizer.step()
            after = list(getattr(weighting, "weights", info.weights))
            l_det, l_view = (float(l.detach()) for l in losses)
            rows.append({
                "step": len(rows) + 1, "epoch": epoch + 1, "batch": batch + 1,
                "loss_det": l_det, "loss_view": l_view, "loss_sum": l_det + l_view,
                "loss_weighted": info.weights[0] * l_det + info.weights[1] * l_view,
                "w_det": info.weights[0], "w_view": info.weights[1],
                "w_det_after": after[0], "w_view_after": after[1],
                "updated": bool(info.extra.get("updated", rule in ("gradnorm",))),
                **{k: v for k, v in info.extra.items() if k != "updated"},
            })
    seconds = time.perf_counter() - start
    return ReplicaResult(rule, pd.DataFrame(rows), seconds, count_parameters(model))


def weight_sequence(result: ReplicaResult) -> pd.DataFrame:
    """Initial weights, then the weights after each update of the rule (upstream rule: every 10th step)."""
    h = result.history
    first = h.iloc[0]
    rows = [{"update": 0, "step": 0, "w_det": first["w_det"], "w_view": first["w_view"]}]
    for i, r in enumerate(h[h["updated"]].itertuples(), 1):
        rows.append({"update": i, "step": r.step, "w_det": r.w_det_after, "w_view": r.w_view_after})
    out = pd.DataFrame(rows)
    out["w_sum"] = out["w_det"] + out["w_view"]
    return out

"""Train every weighting a few steps on GradNorm's toy network, in one process or under torchrun.

    python tests/helpers/ddp_equivalence.py OUT.pt                         # one process, the global batch
    torchrun --nproc_per_node 2 tests/helpers/ddp_equivalence.py OUT.pt   # two processes, half the batch each

Both see the same global batch at every step (rank r takes rows r, r + N, ...,
as ``DistributedSampler`` deals them) and step with ``lib.engine.update.apply_update``,
the training loop's update. The toy has no batch statistics and mean-squared
losses, so the mean of the ranks' losses is the global batch's loss and the
two runs must agree to float rounding. Rank 0 saves, per method, the final
parameters, the weights of every step and the weighting's final state.
"""
from __future__ import annotations

import sys

import torch

from lib.engine.distributed import barrier, check_identical, flat_state, init_from_env, shutdown, world
from lib.models import PaperToyModel, forward_with_boundary
from lib.engine.update import apply_update
from lib.weighting import build_weighting

METHODS = {
    "fixed": {}, "equal": {}, "gradnorm": {"alpha": 1.5, "lr": 0.05},
    "gradnorm_plain": {"alpha": 1.5, "lr": 0.05, "fast": False},
    "gradnorm_all_shared": {"alpha": 0.5, "layer": "all_shared", "optimizer": "sgd", "lr": 0.01},
    "uw": {}, "dwa": {"temperature": 0.5}, "pcgrad": {"seed": 3}, "cagrad": {"c": 0.4},
    "famo": {"lr": 0.05}, "upstream_rule": {"update_every": 2},
}
STEPS, BATCH, EPOCH_STEPS = 8, 8, 2


def train(method: str, options: dict) -> dict:
    w = world()
    torch.manual_seed(0)
    model = PaperToyModel(2, d_in=12, d_out=3, hidden=10, depth=2)
    weighting = build_weighting(method.split("_plain")[0].split("_all_shared")[0], 2, **options)
    trained = [p for p in weighting.parameters() if p.requires_grad]  # as the Trainer: UW's log-variances
    optimizer = torch.optim.Adam(list(model.parameters()) + trained, lr=0.01)
    g = torch.Generator().manual_seed(1)
    x = torch.randn(STEPS, BATCH, 12, generator=g)
    y = [torch.randn(STEPS, BATCH, 3, generator=g) * s for s in (1.0, 10.0)]
    weights = []
    for step in range(STEPS):
        rows = slice(w.rank, None, w.size)  # this rank's shard of the global batch
        if weighting.wants_boundary(model):
            outputs, boundary = forward_with_boundary(model, x[step, rows])
        else:
            outputs, boundary = model(x[step, rows]), None
        losses = [(out - target[step, rows]).pow(2).mean() for out, target in zip(outputs, y)]
        info, _ = apply_update(weighting, losses, model, optimizer, outputs=outputs, boundary=boundary,
                               grad_clip=100.0)
        weights.append(info.weights)
        if (step + 1) % EPOCH_STEPS == 0:
            weighting.on_epoch_end()
    return {"parameters": torch.cat([p.detach().reshape(-1) for p in model.parameters()]),
            "weights": torch.tensor(weights, dtype=torch.float64),
            "state": flat_state([weighting.state_dict()])}


def divergence_is_caught() -> bool:
    """Whether ``check_identical`` (the debug mode's check) raises when the ranks' states differ."""
    try:
        check_identical([torch.tensor([1.0, float(world().rank)])], "a state made to differ")
    except RuntimeError as e:
        return "differs between rank 0 and rank 1" in str(e)
    return False


def main(out: str) -> None:
    w = init_from_env("cpu")
    torch.set_num_threads(1)
    results = {m: train(m, o) for m, o in METHODS.items()}
    caught = divergence_is_caught() if w.size > 1 else None
    if w.main:
        torch.save({"world_size": w.size, "results": results, "divergence_caught": caught}, out)
    barrier()
    shutdown()


if __name__ == "__main__":
    main(sys.argv[1])

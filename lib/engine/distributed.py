"""Data-parallel training over processes: ``torchrun --nproc_per_node N -m lib.train ...``.

Each rank holds the whole model and reads its shard of every batch (``DistributedSampler``). A step is
defined on the global batch: a task loss is the mean of the ranks' losses, so every gradient is the mean
of the ranks' gradients. A weighting reduces what it reads with ``all_reduce_mean`` before it combines
(``DistributedDataParallel``'s one reduction per backward cannot serve methods that combine several
gradients non-linearly), and the loop averages the parameters' gradients once (``average_gradients``).
CUDA runs of several ranks use ``SyncBatchNorm`` (``sync_batchnorm``); rank 0 evaluates alone
(``solo_batchnorm``). With one process every function here is the identity. Why and what is tested:
docs/distributed.md.

Source: PyTorch's ``torch.distributed`` collectives and ``torchrun`` environment (RANK, WORLD_SIZE,
LOCAL_RANK); YOLOv5 ``train.py`` (rank 0 evaluates and writes, ``--sync-bn``).
"""
from __future__ import annotations

import contextlib
import datetime
import os
from dataclasses import dataclass
from typing import Iterable, Sequence

import torch
import torch.distributed as dist

CHECK_RANKS_ENV = "ECHO_MTL_CHECK_RANKS"  # "1": after every step, assert the weighting state (and RNG) identical on all ranks


@dataclass(frozen=True)
class World:
    """This process's place among the training processes."""

    rank: int = 0
    size: int = 1
    local_rank: int = 0

    @property
    def main(self) -> bool:
        """Rank 0: the one that evaluates, prints and writes files."""
        return self.rank == 0


def launched() -> bool:
    """Whether this process was started by ``torchrun`` (or another launcher setting WORLD_SIZE > 1)."""
    return int(os.environ.get("WORLD_SIZE", "1")) > 1


def world() -> World:
    """The current world: from the initialised process group, else one process."""
    if dist.is_available() and dist.is_initialized():
        return World(dist.get_rank(), dist.get_world_size(), int(os.environ.get("LOCAL_RANK", dist.get_rank())))
    return World()


def init_from_env(device: str = "auto") -> World:
    """Join the process group ``torchrun`` describes (RANK, WORLD_SIZE, MASTER_ADDR/PORT in the environment):
    NCCL when ``device`` resolves to CUDA, gloo otherwise. With WORLD_SIZE 1 (or unset) nothing is started.
    Idempotent. Returns the world; on CUDA each rank takes the GPU of its LOCAL_RANK."""
    if not launched():
        return World()
    if dist.is_initialized():
        return world()
    local_rank = int(os.environ.get("LOCAL_RANK", "0"))
    cuda = device.startswith("cuda") or (device == "auto" and torch.cuda.is_available())
    if cuda:
        torch.cuda.set_device(local_rank)
    dist.init_process_group("nccl" if cuda else "gloo", timeout=datetime.timedelta(minutes=60))
    return world()


def check_global_batch(batch_size: int, processes: int) -> None:
    """``ValueError`` unless ``batch_size`` (the global batch) splits evenly over ``processes``."""
    if batch_size % processes:
        raise ValueError(f"batch_size {batch_size} (the global batch) must be a multiple of the number of "
                         f"processes, {processes}")


def cuda_device_of(device: str, w: World) -> str:
    """The device string a rank trains on: ``cuda`` and ``auto`` become ``cuda:<local rank>`` under a launcher;
    ``cuda:N`` there is a ``ValueError`` (every rank would take GPU N)."""
    if w.size > 1 and device.startswith("cuda:"):
        raise ValueError(f"device {device!r} under torchrun: use --device cuda (each rank takes the GPU of its "
                         "LOCAL_RANK; choose GPUs with CUDA_VISIBLE_DEVICES)")
    if w.size > 1 and (device == "cuda" or (device == "auto" and torch.cuda.is_available())):
        return f"cuda:{w.local_rank}"
    return device


def all_reduce_mean(x: torch.Tensor) -> torch.Tensor:
    """The mean of ``x`` over all ranks (a new tensor; ``x`` itself with one process). Not differentiable:
    pass detached values (losses read as numbers, gradients)."""
    w = world()
    if w.size == 1:
        return x
    y = x.detach().clone()
    dist.all_reduce(y, op=dist.ReduceOp.SUM)
    return y.div_(w.size)


def average_gradients(params: Iterable[torch.Tensor]) -> None:
    """Replace every ``.grad`` by its mean over ranks, in one flat all-reduce. A parameter with no gradient
    on any rank keeps none; one with a gradient on some ranks only counts zeros elsewhere. Identity with one
    process."""
    w = world()
    if w.size == 1:
        return
    params = [p for p in params if p.requires_grad]
    if not params:
        return
    device = params[0].device
    present = torch.tensor([p.grad is not None for p in params], dtype=torch.float32, device=device)
    dist.all_reduce(present, op=dist.ReduceOp.MAX)
    used = [p for p, on in zip(params, present.tolist()) if on]
    for p in used:
        if p.grad is None:
            p.grad = torch.zeros_like(p)
    if not used:
        return
    flat = torch.cat([p.grad.reshape(-1) for p in used])
    dist.all_reduce(flat, op=dist.ReduceOp.SUM)
    flat.div_(w.size)
    offset = 0
    for p in used:
        n = p.numel()
        p.grad.copy_(flat[offset:offset + n].view_as(p.grad))
        offset += n


def broadcast_module(module: torch.nn.Module) -> None:
    """Rank 0's parameters and buffers on every rank (identity with one process)."""
    if world().size == 1:
        return
    with torch.no_grad():
        for t in list(module.parameters()) + list(module.buffers()):
            dist.broadcast(t.data, src=0)


def broadcast_object(obj):
    """Rank 0's value of ``obj`` (picklable) on every rank."""
    if world().size == 1:
        return obj
    box = [obj]
    dist.broadcast_object_list(box, src=0)
    return box[0]


def shutdown() -> None:
    """Leave the process group, if one was joined (every rank, at the end of a launched command)."""
    if dist.is_available() and dist.is_initialized():
        dist.destroy_process_group()


def barrier() -> None:
    if world().size > 1:
        dist.barrier()


def flat_state(values: Sequence) -> torch.Tensor:
    """Every number and floating/integer tensor in ``values`` (nested lists, tuples, dicts), as one float64
    vector: what ``check_identical`` compares across ranks."""
    out: list[torch.Tensor] = []

    def walk(v):
        if isinstance(v, torch.Tensor):
            out.append(v.detach().reshape(-1).to("cpu", torch.float64))
        elif isinstance(v, bool | int | float):
            out.append(torch.tensor([float(v)], dtype=torch.float64))
        elif isinstance(v, dict):
            for k in sorted(v, key=str):
                walk(v[k])
        elif isinstance(v, (list, tuple)):
            for x in v:
                walk(x)

    walk(values)
    return torch.cat(out) if out else torch.zeros(0, dtype=torch.float64)


def check_identical(values, what: str) -> None:
    """``RuntimeError`` naming ``what`` and the ranks when ``values`` (see ``flat_state``) differ between ranks,
    bit for bit. Every rank must call it. No-op with one process."""
    w = world()
    if w.size == 1:
        return
    mine = flat_state(values)
    gathered = [None] * w.size
    dist.all_gather_object(gathered, mine)
    for r, other in enumerate(gathered):
        if other.shape != mine.shape or not torch.equal(other, gathered[0]):
            raise RuntimeError(f"{what} differs between rank 0 and rank {r}: the ranks have diverged")


def checking_ranks() -> bool:
    """Debug mode: ``ECHO_MTL_CHECK_RANKS=1`` makes the training loop compare the weighting's weights and
    state across ranks after every step (one all-gather per step)."""
    return os.environ.get(CHECK_RANKS_ENV, "") == "1"


def sync_batchnorm(model: torch.nn.Module, device: torch.device) -> torch.nn.Module:
    """``model`` with SyncBatchNorm layers where the batch statistics can be shared across ranks (CUDA and more
    than one rank); unchanged otherwise (one process, or the CPU: each rank uses its own shard's statistics)."""
    if world().size > 1 and device.type == "cuda":
        return torch.nn.SyncBatchNorm.convert_sync_batchnorm(model)
    return model


_SOLO = {}


def prepare_solo_group() -> None:
    """Create the one-rank process group ``solo_batchnorm`` needs; a collective: every rank calls it once."""
    if world().size > 1 and "group" not in _SOLO:
        _SOLO["group"] = dist.new_group([0])


@contextlib.contextmanager
def solo_batchnorm(model: torch.nn.Module):
    """Inside, the model's SyncBatchNorm layers normalise with this rank's statistics only, so rank 0 can
    recalibrate and evaluate while the other ranks wait (no-op for a model without SyncBatchNorm)."""
    layers = [m for m in model.modules() if isinstance(m, torch.nn.SyncBatchNorm)]
    if not layers:
        yield
        return
    before = [m.process_group for m in layers]
    for m in layers:
        m.process_group = _SOLO["group"]
    try:
        yield
    finally:
        for m, g in zip(layers, before):
            m.process_group = g

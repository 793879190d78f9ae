"""Batches in YOLOv5's target format and a deterministic ``DataLoader``.

Targets of a batch are one (N, 6) tensor ``[image_index, cls, cx, cy, w, h]``, as
YOLOv5's ``build_targets`` expects. The loader shuffles with its own seeded
``torch.Generator`` (or takes the training loop's seeded sampler), so the sequence
of epoch orders is the same on every run with the same seed; items are built in
``workers`` processes (persistent, pinned memory on CUDA) or, with 0, in the main
process; a batch is the same either way (``lib.data.train_items``).
"""
from __future__ import annotations

import multiprocessing
import sys
from typing import NamedTuple, Sequence

import torch
from torch.utils.data import DataLoader, Dataset, Sampler

from .dataset import Sample
from .errors import LabelError


class Batch(NamedTuple):
    images: torch.Tensor   # float32 (B, 3, S, S) in [0, 1]
    targets: torch.Tensor  # float32 (N, 6) [image_index_in_batch, cls, cx, cy, w, h]
    views: torch.Tensor    # long (B,)
    indices: torch.Tensor  # long (B,) dataset indices


class Unreadable(NamedTuple):
    """An item whose file failed to decode in a worker: carried to the main process, raised there as itself."""

    error: LabelError


class _Guarded(Dataset):
    """``dataset``, but a ``LabelError`` becomes an ``Unreadable`` item (torch would re-raise it in the main process
    as a RuntimeError holding the worker's traceback)."""

    def __init__(self, dataset: Dataset):
        self.dataset = dataset

    def __len__(self) -> int:
        return len(self.dataset)

    def __getattr__(self, name):  # names, view_names, labels, ...: the dataset's (not while unpickling)
        if name == "dataset":
            raise AttributeError(name)
        return getattr(self.dataset, name)

    def __getitem__(self, key):
        try:
            return self.dataset[key]
        except LabelError as e:
            return Unreadable(e)


class Loader(DataLoader):
    """A ``DataLoader`` that raises a worker's ``LabelError`` (an ``Unreadable`` batch) as itself: one line naming
    the file, as the main process would have raised it."""

    def __iter__(self):
        for batch in super().__iter__():
            if isinstance(batch, Unreadable):
                raise batch.error
            yield batch


def collate(items: Sequence[Sample]) -> Batch | Unreadable:
    """Stack images (scaled to [0, 1]) and prepend each target row with its image's batch index; the first
    ``Unreadable`` item instead, if any."""
    failed = [it for it in items if isinstance(it, Unreadable)]
    if failed:
        return failed[0]
    images, targets, views, indices = zip(*items)  # Sample or any (image, targets, view, index) tuple
    rows = [torch.cat([torch.full((len(t), 1), float(b)), t.float().reshape(-1, 5)], dim=1)
            for b, t in enumerate(targets)]
    return Batch(torch.stack(images).float().div_(255.0), torch.cat(rows).reshape(-1, 6),
                 torch.tensor(views, dtype=torch.long), torch.tensor(indices, dtype=torch.long))


def make_loader(dataset: Dataset, batch_size: int, shuffle: bool = False, seed: int = 0,
                sampler: Sampler | None = None, workers: int = 0, pin_memory: bool = False,
                persistent: bool = True) -> DataLoader:
    """Loader with the last partial batch kept. The order: ``sampler``'s where given (the training loop's seeded
    ``EpochSampler``), else shuffled from ``seed`` or in order. ``workers`` > 0: items are built in that many
    worker processes (kept between epochs when ``persistent``), two batches ahead each."""
    # a generator of its own even with a sampler: the loader then never draws from torch's global one
    generator = torch.Generator().manual_seed(seed)
    order = {"sampler": sampler} if sampler is not None else {"shuffle": shuffle}
    return Loader(_Guarded(dataset) if workers > 0 else dataset, batch_size=batch_size, num_workers=workers,
                  collate_fn=collate, generator=generator,
                      drop_last=False, pin_memory=pin_memory, persistent_workers=persistent and workers > 0,
                      multiprocessing_context=worker_context() if workers > 0 else None, **order)


def worker_context():
    """Workers are forked on Linux, as PyTorch does there by default, even inside a run process that the batch
    runner started with forkserver (whose default start method its children inherit: workers would then fail with
    "too many fds"); elsewhere the platform's default."""
    return multiprocessing.get_context("fork") if sys.platform.startswith("linux") else None

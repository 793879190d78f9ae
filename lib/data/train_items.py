"""The training split as the step sees it: augmented per item, the same for a seed whatever the workers or ranks.

    items = TrainItems(train_set, Hyp.of(cfg), seed=cfg.seed, epochs=cfg.epochs, close_mosaic=cfg.close_mosaic)
    sampler = EpochSampler(DistributedSampler(range(len(items)), ...))
    loader = make_loader(items, batch, sampler=sampler, workers=4)   # sampler.set_epoch(e) before each epoch

An item is asked for as ``(epoch, index)`` (``EpochSampler`` yields those pairs) and draws every random number from
a generator seeded by ``(seed, epoch, index)`` alone. So its pixels do not depend on which worker process or rank
builds it, on how many there are, or on a resume: a persistent worker needs no message when the epoch changes.
With every augmentation off an item is the stored frame itself, untouched.
"""
from __future__ import annotations

import os
from typing import Iterator

import numpy as np
import torch
from torch.utils.data import DataLoader, Dataset, DistributedSampler, Sampler

from .augment import Hyp, augment_frame
from .dataset import Sample
from .loader import make_loader
from .mosaic import content, mixup, mosaic


class TrainItems(Dataset):
    """The first ``n`` frames of ``dataset`` (an ``EchoDataset``; all when None), augmented by ``hyp``.

    Mosaic (probability ``hyp.mosaic``) is closed from epoch ``epochs - close_mosaic`` on; Ultralytics closes it at
    exactly that epoch, so a run shorter than ``close_mosaic`` keeps its mosaic throughout, here too. Mixup blends a
    second mosaic and needs one. Items are ``Sample`` with targets (n, 5) normalised."""

    def __init__(self, dataset, hyp: Hyp, seed: int, epochs: int, close_mosaic: int = 0, n: int | None = None):
        self.dataset, self.hyp, self.seed = dataset, hyp, seed
        self.n = len(dataset) if n is None else min(n, len(dataset))
        # the first epoch without mosaic; Ultralytics closes it when epoch == epochs - close_mosaic, never if negative
        self.mosaic_until = epochs - close_mosaic if close_mosaic <= epochs else epochs
        self.sizes = getattr(dataset, "orig_sizes", None)  # (N, 2) original (w, h): a tile is the picture alone
        views = np.asarray(dataset.views[: self.n])
        self.same_view = {int(v): np.flatnonzero(views == v) for v in np.unique(views)}

    def __len__(self) -> int:
        return self.n

    def rng(self, epoch: int, index: int) -> np.random.Generator:
        return np.random.default_rng([self.seed, epoch, index])

    def __getitem__(self, key: tuple[int, int]) -> Sample:
        epoch, i = key
        image, targets, view, _ = self.dataset[i]
        if not self.hyp.any:
            return Sample(image, targets, view, i)
        rng = self.rng(epoch, i)
        use_mosaic = epoch < self.mosaic_until and rng.random() < self.hyp.mosaic
        image, targets = self._frame(i, image, targets, view, use_mosaic, rng)
        if use_mosaic and rng.random() < self.hyp.mixup:
            partner = int(rng.choice(self.same_view[view]))
            other = self._frame(partner, *self.dataset[partner][:2], view, True, rng)
            image, targets = mixup((image, targets), other, rng)
        return Sample(image, targets, view, i)

    def _frame(self, i: int, image, targets, view: int, use_mosaic: bool, rng: np.random.Generator):
        """Frame ``i`` (its ``image`` and ``targets``, read once by the caller) augmented, in a mosaic or alone."""
        canvas = None
        if use_mosaic:
            others = rng.choice(self.same_view[view], size=3)
            tiles = [self._tile(i, image, targets)] + [self._tile(int(j), *self.dataset[int(j)][:2]) for j in others]
            canvas = mosaic(tiles, rng, image.shape[-1])
        return augment_frame(image, targets, self.hyp, rng, canvas)

    def _tile(self, j: int, image, targets):
        if self.sizes is None:
            return image, targets
        return content(image, targets, tuple(int(v) for v in self.sizes[j]))


class EpochSampler(Sampler):
    """Yields ``(epoch, index)`` for each index of ``sampler`` (a ``DistributedSampler``, shuffled per epoch);
    ``set_epoch`` sets both."""

    def __init__(self, sampler):
        self.sampler, self.epoch = sampler, 0

    def set_epoch(self, epoch: int) -> None:
        self.epoch = epoch
        self.sampler.set_epoch(epoch)

    def __iter__(self) -> Iterator[tuple[int, int]]:
        return ((self.epoch, int(i)) for i in self.sampler)

    def __len__(self) -> int:
        return len(self.sampler)


def loader_workers(cfg, dataset) -> int:
    """``cfg.workers``, or with -1: none when an item is a stored frame (no augmentation, frames in RAM), else
    min(8, CPUs - 1), as YOLOv5 caps its own."""
    if cfg.workers >= 0:
        return cfg.workers
    if not cfg.augmented and dataset.cache == "ram":
        return 0
    return max(0, min(8, (os.cpu_count() or 1) - 1))


def training_loader(cfg, dataset, n: int, batch_size: int, replicas: int = 1, rank: int = 0,
                    device: torch.device | None = None) -> DataLoader:
    """The training loop's loader of the first ``n`` frames of ``dataset``, augmented as ``cfg`` (a
    ``TrainConfig``) says, ``batch_size`` per rank; call ``loader.sampler.set_epoch(e)`` before epoch ``e``.

    One permutation per epoch, seeded by ``cfg.seed`` and the epoch, so a resumed run sees the same order; rank r
    of ``replicas`` takes every N-th index of it, so the N shards of a step are the one-process run's batch."""
    items = TrainItems(dataset, Hyp.of(cfg), cfg.seed, cfg.epochs, cfg.close_mosaic, n=n)
    shard = DistributedSampler(range(n), num_replicas=replicas, rank=rank, shuffle=True, seed=cfg.seed * 100_003,
                               drop_last=False)
    return make_loader(items, batch_size, sampler=EpochSampler(shard), workers=loader_workers(cfg, dataset),
                       pin_memory=device is not None and device.type == "cuda")

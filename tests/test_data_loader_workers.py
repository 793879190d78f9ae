"""Loader workers start inside a run process that the batch runner launched with forkserver."""
import multiprocessing

import torch

from lib.data.loader import make_loader


class ManyTensors(torch.utils.data.Dataset):
    """300 label tensors, as a split of 300 frames holds: more than forkserver can pass a child as descriptors."""

    def __init__(self):
        self.targets = [torch.zeros((1, 5)) for _ in range(300)]

    def __len__(self):
        return len(self.targets)

    def __getitem__(self, i):
        return torch.zeros((3, 8, 8), dtype=torch.uint8), self.targets[i], 0, i


def first_batch_size(queue):
    # as in a run process: forkserver is this process's default start method
    multiprocessing.set_start_method("forkserver", force=True)
    try:
        queue.put(len(next(iter(make_loader(ManyTensors(), 4, workers=1))).images))
    except Exception as e:  # noqa: BLE001  reported to the test
        queue.put(repr(e))


def test_workers_start_in_a_forkserver_process():
    ctx = multiprocessing.get_context("forkserver")
    queue = ctx.Queue()
    p = ctx.Process(target=first_batch_size, args=(queue,))
    p.start()
    got = queue.get(timeout=120)
    p.join(timeout=60)
    assert got == 4

"""What the data caches would save a run, on the default profile's data set (synthetic, ``TrainConfig()``).

Each run's process starts with nothing in memory and loads train, val and test once
(``lib.data.load_split``), hashing every file of a split to key it. Timed as such a
process would, with and without:

* hashing: ``split_fingerprint`` of the three splits; the most any cache of file
  digests could save (one that stats each file instead saved 0.06 of 0.16 s: removed);
* splits: reading a split decoded by an earlier process from the disk cache
  (``torch.load``; ``joblib.Memory`` took about three times as long) versus decoding it.

The data files are in the page cache both ways (a report reads them for every run).
A report trains about 51 runs, two at a time.

    ECHO_MTL_DATA=/tmp/d ECHO_MTL_RUNS=/tmp/r python -m benchmarks.data_caches
"""
from __future__ import annotations

import statistics
import time

import torch

from lib.config import TrainConfig
from lib.data import read_data_yaml, resolve_data, source
from lib.data.dataset import EchoDataset

SPLITS = ("train", "val", "test")


def _hash(spec) -> None:
    for split in SPLITS:
        source.split_fingerprint(spec, split)


def _splits(spec, cfg: TrainConfig, cached: bool) -> None:
    for split in SPLITS:
        signature = source.file_digest(spec.yaml_path) + source.split_fingerprint(spec, split)
        if cached:
            source._decoded(spec, split, cfg.imgsz, cfg.on_bad_label, signature)
        else:
            EchoDataset(spec, split, cfg.imgsz, cfg.on_bad_label)


def _median(fn, rounds: int) -> float:
    times = []
    for _ in range(rounds):
        t0 = time.perf_counter()
        fn()
        times.append(time.perf_counter() - t0)
    return statistics.median(times)


def run(rounds: int = 5, runs: int = 51, jobs: int = 2) -> dict[str, float]:
    torch.set_num_threads(1)
    cfg = TrainConfig()
    spec = read_data_yaml(resolve_data(cfg.data))
    _splits(spec, cfg, cached=True)  # fills the split cache
    out = {
        "images": sum(len(source.split_files(spec, s).images) for s in SPLITS),
        "hash every file (s)": _median(lambda: _hash(spec), rounds),
        "splits read from the cache (s)": _median(lambda: _splits(spec, cfg, True), rounds),
        "splits decoded (s)": _median(lambda: _splits(spec, cfg, False), rounds),
    }
    saved = out["splits decoded (s)"] - out["splits read from the cache (s)"]
    for k, v in out.items():
        print(f"{k:32s} {v:.3f}" if isinstance(v, float) else f"{k:32s} {v}")
    print(f"split cache saves {saved:.3f} s a run, {saved * runs / jobs:.0f} s of a report's wall time "
          f"({runs} runs, {jobs} at a time)")
    return out


if __name__ == "__main__":
    run()

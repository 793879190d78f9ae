"""What one accelerator does with this project: step time of every method relative to Fixed, images per second,
peak memory, GradNorm's overhead, evaluation time, and the ``gpu`` report profile's predicted wall time.

    bash benchmarks/device_check.sh            # on a CUDA machine: the CUDA tests, then this, < 8 min
    bash benchmarks/device_check.sh --cpu      # the same code on tiny sizes on the CPU (run by `make test`)
    python -m benchmarks.device_check --out reports/bench/device_check.json [--cpu] [--amp fp16]

Every step is ``Trainer.train_step`` on one fixed batch (the training loop's own step, with its autocast,
GradScaler and CUDA synchronisation), timed after warm-up steps; the median is reported. Peak memory is the
CUDA allocator's peak over the timed steps (``torch.cuda.max_memory_allocated``), or the process's resident
set on the CPU (``lib.engine.memory.PeakMemory``). The prediction multiplies each run the ``gpu`` profile plans
(``lib.report.requests``) by its measured step time and adds its evaluations at the measured seconds per image.
It is a lower bound: it leaves out data generation, start-up, the notebooks, assembling each batch (the
timed steps reuse one), the gradient-interference measurement every ``interference_every`` steps, and it
times evaluation on an untrained model (few detections to match).
"""
from __future__ import annotations

import argparse
import json
import math
import platform
import statistics
import sys
import time
from pathlib import Path

import torch

from lib.config import TrainConfig
from lib.data import SyntheticConfig, ensure_synthetic
from lib.engine.memory import PeakMemory
from lib.store.paths import data_root
from lib.engine.seeding import torch_settings
from lib.engine.trainer import Trainer

from .common import OUT

# (model, weighting) pairs: every balancing method of the report on the shared model, and the dual backbone
METHODS = [("shared", w) for w in ("fixed", "equal", "gradnorm", "uw", "dwa", "pcgrad", "cagrad", "famo")] + [
    ("dual", "fixed")]
SIZES = {
    "gpu": dict(scale="s", imgsz=640, batch_size=32, memory_format="channels_last", device="cuda", threads=0),
    "cpu": dict(scale="p", imgsz=64, batch_size=4, memory_format="contiguous", device="cpu", threads=1),
}


def measure(base: dict, data: str, model: str, weighting: str, warmup: int, steps: int) -> dict:
    cfg = TrainConfig(**base, data=data, model=model, weighting=weighting, interference_every=0, anchors="default")
    trainer = Trainer(cfg, progress=False)
    device = trainer.device
    batch = next(iter(trainer._loader(0)))
    trainer.model.train()
    times = []
    with torch_settings(cfg.threads):  # deterministic kernels, as Trainer.fit trains
        for _ in range(warmup):
            trainer.train_step(batch, 0)
        if device.type == "cuda":
            torch.cuda.synchronize(device)
            torch.cuda.reset_peak_memory_stats(device)
        with PeakMemory(device) as memory:
            for _ in range(steps):
                t0 = time.perf_counter()
                trainer.train_step(batch, 0)  # synchronises CUDA before it returns
                times.append(time.perf_counter() - t0)
    step = statistics.median(times)
    return {"model": model, "weighting": weighting, "median_step_s": step,
            "images_per_second": cfg.batch_size / step, "peak_memory_mb": memory.peak_mb,
            "skipped_steps": trainer.skipped_steps}


def evaluation_seconds_per_image(base: dict, data: str, n_val: int) -> float:
    """One validation pass (BatchNorm recalibration, then scoring), divided by the images it read."""
    cfg = TrainConfig(**base, data=data, interference_every=0, anchors="default")
    trainer = Trainer(cfg, progress=False)
    trainer.evaluate("val")  # warm: first-call work, cuDNN plans
    trainer._calibrated_at = None
    t0 = time.perf_counter()
    trainer.evaluate("val")
    seconds = time.perf_counter() - t0
    return seconds / (n_val + min(cfg.bn_calibration_images, trainer.n_train))


def planned_runs(profile: str) -> list[TrainConfig]:
    """Every run the profile's report trains (``lib.report.requests``), without generating its data. A tuned
    row's selected setting at the seeds past tuning is not known before tuning: its first setting stands in."""
    from lib.experiments.methods import configs
    from lib.report.context import settings
    from lib.report.profiles import NOTEBOOKS, REPORT_KEYS, load_profile
    from lib.report.requests import compared_grid, notebook_requests
    from lib.report.tuning import tuning_seeds

    common = settings(profile)
    base = TrainConfig(**{k: v for k, v in common.items() if k not in REPORT_KEYS})
    notebooks = load_profile(profile).get("notebooks") or {}
    runs = {}
    for nb in sorted(NOTEBOOKS.glob("[0-9][0-9]_*.ipynb")):
        for methods, at in notebook_requests(nb, notebooks.get(nb.stem, {}), profile).values():
            for cfg in configs(base, methods, at).values():
                runs[cfg.to_json()] = cfg
    tuned = [g[0] for g in compared_grid(notebooks.get("04_comparison", {}).get("methods"), common.get("tuning")).values()
             if len(g) > 1]
    tuning = tuning_seeds(common["seeds"], common.get("tuning_seeds"))
    for cfg in configs(base, tuned, [s for s in common["seeds"] if s not in tuning]).values():
        runs[cfg.to_json()] = cfg
    return list(runs.values())


def predict_minutes(profile: str, step_s: dict, eval_s_per_image: float) -> tuple[float, int]:
    from lib.report.context import settings

    n_train, n_val, n_test = settings(profile)["synthetic_images"]
    total, runs = 0.0, planned_runs(profile)
    for cfg in runs:
        per_step = step_s.get((cfg.model, cfg.weighting), step_s[("shared", "fixed")])
        steps = cfg.epochs * math.ceil(n_train / cfg.batch_size)
        evals = sum((e + 1) % cfg.eval_every == 0 or e + 1 == cfg.epochs for e in range(cfg.epochs))
        calibration = min(cfg.bn_calibration_images, n_train)
        total += steps * per_step + eval_s_per_image * (evals * (n_val + calibration) + n_test)
    return total / 60, len(runs)


def main(argv=None) -> int:
    p = argparse.ArgumentParser(prog="python -m benchmarks.device_check", description=__doc__.split("\n\n")[0])
    p.add_argument("--cpu", action="store_true", help="tiny sizes on the CPU (the check of the check)")
    p.add_argument("--amp", default=None, choices=("off", "bf16", "fp16"),
                   help="mixed precision (default: bf16 on the GPU, off on the CPU)")
    p.add_argument("--out", default=str(OUT / "device_check.json"))
    p.add_argument("--data-root", default=None, help="where the synthetic check data is generated")
    args = p.parse_args(argv)
    kind = "cpu" if args.cpu else "gpu"
    if kind == "gpu" and not torch.cuda.is_available():
        print("error: no CUDA device; use --cpu for the CPU check", file=sys.stderr)
        return 2
    base = {**SIZES[kind], "amp": args.amp or ("off" if args.cpu else "bf16")}
    warmup, steps = (1, 2) if args.cpu else (5, 20)
    n_val = 4 if args.cpu else 64
    data = str(ensure_synthetic(SyntheticConfig(n_train=2 * base["batch_size"], n_val=n_val, n_test=n_val, seed=11),
                                root=args.data_root or data_root()))
    t0 = time.perf_counter()
    rows = [measure(base, data, m, w, warmup, steps) for m, w in METHODS]
    control = measure(base, data, "shared", "fixed", warmup, steps)  # Fixed again: the noise floor
    fixed = rows[0]["median_step_s"]
    for r in rows:
        r["vs_fixed"] = r["median_step_s"] / fixed
    step_s = {(r["model"], r["weighting"]): r["median_step_s"] for r in rows}
    eval_s = evaluation_seconds_per_image(base, data, n_val)
    minutes, n_runs = predict_minutes("gpu", step_s, eval_s)
    device = torch.device(base["device"])
    result = {
        "hardware": "GPU" if kind == "gpu" else "CPU",
        "device_name": torch.cuda.get_device_name(device) if kind == "gpu" else platform.processor() or platform.machine(),
        "torch": torch.__version__, "cuda": torch.version.cuda, "threads": torch.get_num_threads(),
        "settings": base, "warmup_steps": warmup, "timed_steps": steps,
        "methods": rows,
        "gradnorm_overhead": step_s[("shared", "gradnorm")] / fixed,
        "noise_floor": abs(control["median_step_s"] / fixed - 1),
        "fixed_images_per_second": rows[0]["images_per_second"],
        "evaluation_seconds_per_image": eval_s,
        "predicted_gpu_profile_minutes": minutes if kind == "gpu" else None,
        "gpu_profile_runs": n_runs,
        "check_seconds": time.perf_counter() - t0,
    }
    if kind == "cpu":  # the prediction's arithmetic still runs (with CPU times it predicts nothing useful)
        result["prediction_arithmetic_minutes_from_cpu_times"] = minutes
    out = Path(args.out)
    out.parent.mkdir(parents=True, exist_ok=True)
    out.write_text(json.dumps(result, indent=2))
    memory = "peak GPU memory" if kind == "gpu" else "peak process RSS"
    print(f"{result['hardware']} ({result['device_name']}), {base['scale']} scale, {base['imgsz']} px, batch "
          f"{base['batch_size']}, amp {base['amp']}; median of {steps} steps after {warmup} warm-up")
    for r in rows:
        print(f"{r['model']:>6}/{r['weighting']:<8} {1000 * r['median_step_s']:8.1f} ms  {r['vs_fixed']:5.2f}x fixed  "
              f"{r['images_per_second']:8.1f} img/s  {memory} {r['peak_memory_mb']:8.0f} MB")
    print(f"GradNorm overhead {result['gradnorm_overhead']:.3f}x (noise floor: a second Fixed measured "
          f"{result['noise_floor']:.3f} away); evaluation {1000 * eval_s:.1f} ms/image")
    if kind == "gpu":
        print(f"gpu profile: {n_runs} runs, predicted at least {minutes:.0f} min of training and evaluation "
              "(a lower bound: see benchmarks/device_check.py)")
    else:
        print(f"CPU check of the check: tiny sizes and {steps} timed steps, so the ratios are not measurements; the "
              f"gpu profile's prediction arithmetic ({n_runs} runs) gives {minutes:.0f} min from these CPU times")
    print(f"written to {out}")
    return 0


if __name__ == "__main__":
    sys.exit(main())

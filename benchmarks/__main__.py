"""`make bench`: every benchmark in one run; tables printed and written under reports/bench/, and (a full
run, not --quick) as markdown pages under docs/bench/, which docs/performance.md links.

    python -m benchmarks            # all
    python -m benchmarks --quick    # fewer repeats, no compile or 3-seed agreement runs
"""
from __future__ import annotations

import argparse
import time

import torch

from . import (compile_cost, ddp_throughput, ema_effect, input_pipeline, lever_agreement, predict_speed, replica_time,
               report_time, scaling, step_costs, step_levers, throughput)
from . import docs
from .common import OUT, write_summary


def main() -> None:
    p = argparse.ArgumentParser(prog="python -m benchmarks")
    p.add_argument("--quick", action="store_true", help="fewer repeats (for a smoke check)")
    p.add_argument("--device", default="auto")
    args = p.parse_args()
    t0, started = time.perf_counter(), time.time()
    rounds = 3 if args.quick else 9
    steps = step_costs.run(rounds=rounds, device=args.device)
    levers, _ = step_levers.run(sizes=(128,) if args.quick else (128, 320), rounds=rounds // 3 + 1)
    share = input_pipeline.run(device=args.device)
    tp = throughput.run(device=args.device, sizes=(128,) if args.quick else (128, 320))
    rep = replica_time.run(repeats=3 if args.quick else 5)
    report_time.run()
    scaling.run("smoke" if args.quick else "default")
    predict = predict_speed.run(repeats=1 if args.quick else 3)
    ddp = ddp_throughput.run(rounds=2 if args.quick else 3)
    compiled = None if args.quick else compile_cost.run()
    agree = None if args.quick else lever_agreement.run()
    ema = None if args.quick else ema_effect.run()
    col = "vs fixed, per-round median"
    summary = {
        "device": str(tp["device"].iloc[0]), "gpu": tp["gpu"].iloc[0], "threads": torch.get_num_threads(),
        "gradnorm_overhead": float(steps.loc["gradnorm", col]),
        "reference_gradnorm_overhead": float(steps.loc["gradnorm_all_shared", col]),
        "noise_floor": abs(float(steps.loc["fixed_control", col]) - 1.0),
        "step_cost_vs_fixed": {k: float(v) for k, v in steps[col].items()},
        "data_wait_share": float(share),
        "images_per_second": {f"{m}@{s}": float(r["images_per_second"]) for (m, s), r in tp.iterrows()},
        "peak_memory_mb": {f"{m}@{s}": float(r["peak_memory_mb"]) for (m, s), r in tp.iterrows()},
        "train_memory_mb": {f"{m}@{s}": float(r["train_memory_mb"]) for (m, s), r in tp.iterrows()},
        "upstream_replica_seconds": float(rep.loc["upstream", "median (s)"]),
        "cpu_step_levers": {" / ".join(map(str, k)): float(v) for k, v in levers["speed-up vs fp32"].dropna().items()},
        "cpu_fp32_peak_share": {" / ".join(map(str, k)): float(v) for k, v in levers["share of fp32 peak"].dropna().items()},
        "compile_speedup_warm_cache": None if compiled is None else
            float(compiled.loc["compiled, warm cache"].get("speed-up vs eager", float("nan"))),
        "lever_agreement": None if agree is None else lever_agreement.verdicts(agree),
        "ddp_cpu_images_per_second": {" / ".join(k): float(v) for k, v in ddp["images/s"].items()},
        "ddp_cpu_gradnorm_overhead": {k[0]: float(v) for k, v in ddp["GradNorm / Fixed"].dropna().items()},
        "ema_agreement": None if ema is None else lever_agreement.verdicts(ema),
        "predict_frames_per_second": {f"{r['scale']}@{r['imgsz']} {r['source']}": float(r["frames/s (median)"])
                                      for _, r in predict.iterrows()},
        "bench_seconds": time.perf_counter() - t0,
    }
    print(f"\nsummary written to {write_summary(summary)} ({summary['bench_seconds']:.0f} s)")
    if not args.quick:  # a smoke check's few repeats are not figures to cite
        pages = docs.write_pages(docs.tables_written(OUT, since=started))
        print(f"{len(pages)} pages written under {docs.DOCS}")


if __name__ == "__main__":
    main()

"""Does ``torch.compile`` pay on this CPU? Compile time against the step time it saves over a run.

The trunk of the default model (backbone, FPN, PAN: every convolution, BatchNorm and SiLU; the heads and
the weighting stay eager, as GradNorm's ``autograd.grad`` at the trunk/head boundary needs them) is
compiled with inductor (``nn.Module.compile``), and ``Trainer.train_step`` on one fixed batch is timed in
a fresh process per case: eager; compiled with an empty inductor cache (what the first run on a machine
pays); compiled again with that cache filled (what every later run pays). "break-even steps" is the first
step's extra seconds over the per-step saving, beside the steps of one run of the report profile.
"""
from __future__ import annotations

import json
import os
import subprocess
import sys
import tempfile

import pandas as pd

from lib.store.paths import REPO_ROOT

from .common import write

CHILD = r"""
import json, statistics, sys, time, torch
from lib.config import TrainConfig
from lib.engine.trainer import Trainer
mode, weighting, imgsz, threads, epochs = sys.argv[1], sys.argv[2], int(sys.argv[3]), int(sys.argv[4]), int(sys.argv[5])
torch.set_num_threads(threads)
t = Trainer(TrainConfig(imgsz=imgsz, interference_every=0, weighting=weighting, device="cpu", threads=threads,
                        epochs=epochs), progress=False)
batch = next(iter(t._loader(0)))
t.model.train()
if mode != "eager":
    for name in ("backbone", "fpn", "pan"):
        getattr(t.model, name).compile()
t0 = time.perf_counter(); t.train_step(batch, 0); first = time.perf_counter() - t0
for _ in range(3): t.train_step(batch, 0)
times = []
for _ in range(15):
    t0 = time.perf_counter(); t.train_step(batch, 0); times.append(time.perf_counter() - t0)
print(json.dumps({"first": first, "step": statistics.median(times),
                  "steps_per_run": t.cfg.epochs * t.steps_per_epoch}))
"""


def _case(mode: str, weighting: str, imgsz: int, threads: int, epochs: int, cache: str) -> dict:
    env = {**os.environ, "TORCHINDUCTOR_CACHE_DIR": cache, "PYTHONPATH": str(REPO_ROOT)}
    out = subprocess.run([sys.executable, "-c", CHILD, mode, weighting, str(imgsz), str(threads), str(epochs)], env=env,
                         cwd=REPO_ROOT, capture_output=True, text=True, timeout=1200)
    if out.returncode != 0:
        return {"note": (out.stderr.strip().splitlines() or ["failed"])[-1][:200]}
    return json.loads(out.stdout.strip().splitlines()[-1])


def run(weighting: str = "fixed", imgsz: int = 128, threads: int = 1, profile: str = "default") -> pd.DataFrame:
    from lib.report.context import resolve

    epochs = resolve(profile)[0].epochs  # "steps in a run" of this report profile
    with tempfile.TemporaryDirectory(prefix="inductor-") as cache:
        cases = {name: _case(mode, weighting, imgsz, threads, epochs, cache)
                 for name, mode in (("eager", "eager"), ("compiled, empty cache", "compile"),
                                    ("compiled, warm cache", "compile"))}
    eager = cases["eager"]
    rows = []
    for name, c in cases.items():
        if "note" in c:
            rows.append({"case": name, "note": c["note"]})
            continue
        row = {"case": name, "first step (s)": c["first"], "median step (ms)": 1000 * c["step"],
               "speed-up vs eager": eager.get("step", float("nan")) / c["step"]}
        if name != "eager" and "step" in eager:
            saving = eager["step"] - c["step"]
            extra = c["first"] - eager["first"]
            row["break-even steps"] = extra / saving if saving > 0 else float("inf")
            row[f"steps in a {profile} run"] = c["steps_per_run"]
        rows.append(row)
    df = pd.DataFrame(rows).set_index("case")
    df.index.name = f"torch.compile of the trunk, {weighting}, {imgsz} px, {threads} thread(s), CPU"
    return write("compile_cost_cpu", df)


if __name__ == "__main__":
    run()

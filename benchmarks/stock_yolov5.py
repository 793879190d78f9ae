"""Stock YOLOv5 7.0 (its own ``train.py``, in the bench venv) beside this project's detector, on the same photos.

    python -m benchmarks.stock_yolov5 --epochs 20 80      # a table; reports/bench/stock_yolov5.csv (+ a docs page)

Both train from scratch on the ``target`` photo set (``benchmarks.photo_set``), 128-pixel inputs, batch 16,
seed 0, ``--threads`` CPU threads (stock YOLOv5 has no flag for it: ``OMP_NUM_THREADS``):

* stock: ``python -m yolov5.train --weights '' --cfg yolov5n.yaml --img 128 --batch 16 --workers 0`` with its
  default hyperparameters (``hyp.scratch-low.yaml``: SGD, mosaic), on a copy of the set that YOLOv5 reads
  (``benchmarks.yolov5_copy``: the same image files, box rows only);
* ours: ``python -m lib.train --task det --weighting fixed --scale n --imgsz 128 --batch-size 16``.

Reported: validation mAP50 and mAP50-95. Stock: rows of its ``results.csv`` (one per epoch, the EMA
weights): the last epoch, and the best by YOLOv5's fitness (0.1 mAP50 + 0.9 mAP50-95, the ``best.pt`` it
keeps). Ours: the ``val_`` figures of its JSON line (the last epoch's weights). ``wall (s)``: the whole
command, start-up, evaluations and plots included; ``CPU (s)``: its user + system seconds; ``train (s)``:
ours' own training time. Runs and logs go
under ``<runs root>/bench-yolov5/``; both retrain on every call (a benchmark times its runs).
"""
from __future__ import annotations

import argparse
import json
import os
import resource
import shlex
import shutil
import subprocess
import sys
import time
from pathlib import Path

import pandas as pd

from lib.store.paths import REPO_ROOT, runs_root

from .bench_env import ensure_venv, stock_env
from .common import write
from .photo_set import ensure_photo_set
from .yolov5_copy import yolov5_copy

NAME = "stock_yolov5"
DEFAULTS = {"epochs": [20, 80], "seed": 0, "threads": 1, "device": "cpu"}
STOCK = "stock YOLOv5 7.0 (yolov5n)"
OURS = "echo-mtl (--task det, --scale n)"
METRICS = {"metrics/mAP_0.5": "mAP50", "metrics/mAP_0.5:0.95": "mAP50-95"}


def stock_command(python: Path, data: Path, epochs: int, seed: int, project: Path, name: str, device: str) -> list:
    device = device.replace("cuda:", "").replace("cuda", "0")  # YOLOv5 names a GPU by its index
    return [python, "-m", "yolov5.train", "--data", data, "--weights", "", "--cfg", "yolov5n.yaml", "--img", "128",
            "--batch", "16", "--epochs", epochs, "--seed", seed, "--workers", "0", "--device", device,
            "--project", project, "--name", name, "--exist-ok"]


def ours_command(data: Path, epochs: int, seed: int, runs: Path, device: str, threads: int) -> list:
    return [sys.executable, "-m", "lib.train", "--data", data, "--task", "det", "--weighting", "fixed",
            "--scale", "n", "--imgsz", "128", "--batch-size", "16", "--epochs", epochs, "--seed", seed,
            "--device", device, "--threads", threads, "--runs", runs, "--force", "--no-progress"]


def read_results(csv: Path) -> dict[str, dict]:
    """YOLOv5's ``results.csv`` -> ``{"last": row, "best": row}``, each ``{"epoch", "mAP50", "mAP50-95"}``
    (epoch counted from 1); best by YOLOv5's fitness. Raises ``ValueError`` naming the file when it has no
    row or lacks the metric columns."""
    df = pd.read_csv(csv)
    df.columns = [c.strip() for c in df.columns]  # YOLOv5 pads its headers with spaces
    if df.empty or not set(METRICS) <= set(df.columns):
        raise ValueError(f"{csv}: expected rows with columns {', '.join(METRICS)}; got {list(df.columns)}")
    df = df.rename(columns=METRICS)
    fitness = 0.1 * df["mAP50"] + 0.9 * df["mAP50-95"]

    def row(i) -> dict:
        return {"epoch": int(df["epoch"].iloc[i]) + 1, "mAP50": float(df["mAP50"].iloc[i]),
                "mAP50-95": float(df["mAP50-95"].iloc[i])}

    return {"last": row(len(df) - 1), "best": row(int(fitness.to_numpy().argmax()))}


def summary_of(stdout: str) -> dict:
    """The JSON line ``python -m lib.train`` prints last. Raises ``ValueError`` when there is none."""
    for line in reversed(stdout.splitlines()):
        if line.startswith("{"):
            return json.loads(line)
    raise ValueError("python -m lib.train printed no JSON summary line")


def _cpu_of_children() -> float:
    use = resource.getrusage(resource.RUSAGE_CHILDREN)
    return use.ru_utime + use.ru_stime


def timed_run(cmd: list, log: Path, env: dict | None = None) -> tuple[float, float, str]:
    """``(wall seconds, CPU seconds, stdout)`` of ``cmd``; CPU is user + system time of the command and
    what it waited for (less moved by other load on the machine than wall time). stdout and stderr also
    go to ``log``. Raises ``RuntimeError`` naming the log when the command fails."""
    log.parent.mkdir(parents=True, exist_ok=True)
    t0, cpu0 = time.perf_counter(), _cpu_of_children()
    done = subprocess.run([str(c) for c in cmd], env=env, cwd=REPO_ROOT, capture_output=True, text=True)
    seconds, cpu = time.perf_counter() - t0, _cpu_of_children() - cpu0
    log.write_text(f"$ {shlex.join(map(str, cmd))}\n{done.stdout}\n--- stderr ---\n{done.stderr}", encoding="utf-8")
    if done.returncode:
        raise RuntimeError(f"{cmd[2]} failed (exit {done.returncode}); see {log}")
    return seconds, cpu, done.stdout


def run(epochs=(20, 80), seed: int = 0, threads: int = 1, device: str = "cpu") -> tuple[pd.DataFrame, dict]:
    """Train both for each epoch count; returns the table (index epochs, detector, row) and the commands
    of the first epoch count (for the page)."""
    python = ensure_venv()
    data = ensure_photo_set("target", seed)
    ydata = yolov5_copy(data)
    out = runs_root() / "bench-yolov5"
    rows, commands = [], {}
    for e in epochs:
        name = f"e{e}-s{seed}"
        shutil.rmtree(out / "stock" / name, ignore_errors=True)  # YOLOv5 appends to an old results.csv
        cmd = stock_command(python, ydata, e, seed, out / "stock", name, device)
        wall, cpu, _ = timed_run(cmd, out / "logs" / f"stock-{name}.log", stock_env(threads=threads))
        commands.setdefault("stock", cmd)
        res = read_results(out / "stock" / name / "results.csv")
        for which in ("last", "best"):
            rows.append({"epochs": e, "detector": STOCK, "row": f"results.csv {which}" +
                         (" (fitness)" if which == "best" else ""), **res[which], "wall (s)": wall,
                         "CPU (s)": cpu})
        cmd = ours_command(data, e, seed, out / "ours", device, threads)
        wall, cpu, stdout = timed_run(cmd, out / "logs" / f"ours-{name}.log")
        commands.setdefault("ours", cmd)
        s = summary_of(stdout)
        rows.append({"epochs": e, "detector": OURS, "row": "JSON line val", "epoch": e, "mAP50": s["mAP50"],
                     "mAP50-95": s["mAP50_95"], "wall (s)": wall, "CPU (s)": cpu,
                     "train (s)": s["train_seconds"]})
        print(pd.DataFrame(rows[-3:]).to_string(index=False), flush=True)
    return pd.DataFrame(rows).set_index(["epochs", "detector", "row"]), commands


def _shown(cmd: list) -> str:
    """A command as the page shows it: repository paths relative, the interpreters by name."""
    text = shlex.join(map(str, cmd))
    for path, short in ((str(cmd[0]), "python"), (str(runs_root()) + "/", "<runs>/"), (str(REPO_ROOT) + "/", "")):
        text = text.replace(path, short)
    return text


def _bench_versions(python: Path) -> str:
    code = ("from importlib.metadata import version as v; "
            "print(', '.join(f'{p} {v(p)}' for p in ('yolov5', 'torch', 'numpy', 'opencv-python')))")
    return subprocess.run([str(python), "-c", code], capture_output=True, text=True, env=stock_env()).stdout.strip()


def write_page(df: pd.DataFrame, commands: dict) -> Path:
    """``docs/bench/stock_yolov5.md``: the measured table, the machine, and the two commands as run."""
    from lib.report.provenance import collect
    from lib.store.atomic import write_text

    from .docs import DOCS, page

    text = page(NAME, df.reset_index(), {**collect(), "cpu_count": os.cpu_count()}, f"python -m benchmarks.{NAME}")
    text += ("\n## How each ran\n\nBoth from scratch on the target photo set (`benchmarks.photo_set`); stock on "
             "its YOLOv5 copy (the same images, box rows only), with its default hyperparameters. Stock's rows are "
             "rows of its `results.csv` (EMA weights): the last epoch, and the best by its fitness "
             "(the epoch of `best.pt`); ours is the `val_` figures of its JSON line (the last epoch's weights). "
             "`wall (s)` is the whole command; `CPU (s)` its user + system time (other load on the machine "
             "moves it less than wall time). The commands of the first epoch count (the others differ in "
             "`--epochs` and `--name`):\n\n"
             f"- stock, in the bench venv ({_bench_versions(ensure_venv())}):\n  `{_shown(commands['stock'])}`\n"
             f"- ours: `{_shown(commands['ours'])}`\n")
    path = DOCS / f"{NAME}.md"
    write_text(path, text)
    return path


def main(argv: list[str] | None = None) -> int:
    p = argparse.ArgumentParser(prog=f"python -m benchmarks.{NAME}", description=__doc__.split("\n")[0])
    p.add_argument("--epochs", type=int, nargs="+", default=DEFAULTS["epochs"], help="epoch counts, each a run pair")
    p.add_argument("--seed", type=int, default=DEFAULTS["seed"])
    p.add_argument("--threads", type=int, default=DEFAULTS["threads"], help="CPU threads of each run")
    p.add_argument("--device", default=DEFAULTS["device"], help="cpu, or cuda (both runs)")
    args = p.parse_args(argv)
    if min(args.epochs) < 1 or args.seed < 0 or args.threads < 1:
        print("error: --epochs need whole numbers >= 1, --seed >= 0 and --threads >= 1", file=sys.stderr)
        return 2
    import torch

    torch.set_num_threads(args.threads)  # what the page's provenance line reports
    try:
        df, commands = run(args.epochs, args.seed, args.threads, args.device)
    except (RuntimeError, ValueError) as e:
        print(f"error: {e}", file=sys.stderr)
        return 2
    write(NAME, df)
    if vars(args) == DEFAULTS:
        print(f"\nwrote {write_page(df, commands)}")
    return 0


if __name__ == "__main__":
    sys.exit(main())

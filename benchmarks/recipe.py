"""Which training recipe wins: YOLOv5's augmentation on or off, pretrained weights or from scratch.

    python -m benchmarks.recipe                      # every arm; README block and docs/bench/recipe*.md
    python -m benchmarks.recipe --sets synthetic     # one set (no README block: the table is partial)

upstream's configuration (``original``: the shared network, task weights 1 and 0.01, scale p, 128 px, batch 16)
is trained on two sets: the synthetic benchmark at the upstream export's sizes (834 / 208 / 306 frames) and the
photo set of ``benchmarks.photo_set`` (real photographs; the view is the background). Arms:

- ``off``: no augmentation, from scratch (the report's recipe);
- ``yolov5``: YOLOv5's augmentation (``lib.config.YOLOV5_AUGMENTATION``, hyp.scratch-low), from scratch;
- ``yolov5-fliplr0``: the same without left-right flips (synthetic only: echo views are not mirror images);
- ``pretrained``: no augmentation, from a checkpoint pretrained here on the other photo set (``--kind pretrain``,
  3 classes: Detect's class convolutions are left out), detection only, 40 epochs.

Two schedules: the report's (full's plateau rule: at most 40 epochs, patience 5, min_delta 0.01) on seeds 0-2,
and a long one (80 epochs, no early stop) on seed 0. An arm becomes a default only when, on the report schedule,
its paired (by seed) validation mAP50 gain over ``off`` has a 95 % t interval above 0 on every set that runs it,
and its view accuracy is not shown worse (the interval of that difference is not wholly below 0). n = 3 seeds, no
correction across the arms: a rule that admits a component on this evidence admits few.
Runs live in the run store (``lib.store.runs``; an interrupted benchmark resumes from checkpoints).
"""
from __future__ import annotations

import argparse
import os
import re
import subprocess
import sys

import numpy as np
import pandas as pd

from lib.config import YOLOV5_AUGMENTATION, TrainConfig
from lib.data import SyntheticConfig, ensure_synthetic
from lib.experiments.batch import get_or_train_all
from lib.experiments.methods import METHODS
from lib.report.readme import markdown_table
from lib.report.stats import mean_ci
from lib.report.tables import format_value
from lib.store.atomic import write_text
from lib.store.paths import REPO_ROOT, data_root

from .common import write

UPSTREAM_SIZES = (834, 208, 306)
SEEDS = (0, 1, 2)
REPORT_SCHEDULE = dict(epochs=40, patience=5, min_delta=0.01, eval_every=1)
LONG_SCHEDULE = dict(epochs=80, patience=0, eval_every=10)
ARMS = ("off", "yolov5", "yolov5-fliplr0", "pretrained")
ARMS_OF = {"synthetic": ARMS, "photo": ("off", "yolov5", "pretrained")}
README = REPO_ROOT / "README.md"
BEGIN, END = "<!-- recipe:begin -->", "<!-- recipe:end -->"
DOCS = REPO_ROOT / "docs" / "bench"


def arm_settings(arm: str, pretrained: str | None) -> dict:
    """The ``TrainConfig`` fields of ``arm`` beyond upstream's configuration."""
    if arm == "off":
        return {}
    if arm == "yolov5":
        return dict(YOLOV5_AUGMENTATION)
    if arm == "yolov5-fliplr0":
        return {**YOLOV5_AUGMENTATION, "fliplr": 0.0}
    if arm == "pretrained":
        if pretrained is None:
            raise ValueError("the pretrained arm needs the pretraining checkpoint")
        return {"weights": pretrained}
    raise ValueError(f"unknown arm {arm!r}; known: {', '.join(ARMS)}")


def data_of(name: str) -> str:
    """The data.yaml of set ``name``: ``synthetic`` (upstream's sizes) or ``photo`` (built with the bench venv)."""
    if name == "synthetic":
        sizes = dict(zip(("n_train", "n_val", "n_test"), UPSTREAM_SIZES))
        return str(ensure_synthetic(SyntheticConfig(**sizes), root=data_root()))
    if name in ("photo", "pretrain"):
        kind = "target" if name == "photo" else "pretrain"
        out = subprocess.run([sys.executable, "-m", "benchmarks.photo_set", "--kind", kind, "--seed", "0"],
                             capture_output=True, text=True, check=True, cwd=REPO_ROOT)
        return out.stdout.strip().splitlines()[-1]
    raise ValueError(f"unknown set {name!r}")


def configs(sets, pretrained: str | None, threads: int, arms=ARMS, long_sets=None) -> dict:
    """(set, arm, schedule, seed) -> TrainConfig for every run of the benchmark (of ``arms`` only; the long schedule
    on ``long_sets`` only, default every set)."""
    base = {**METHODS["original"], "threads": threads}
    out = {}
    for name in sets:
        data = data_of(name)
        for arm in (a for a in ARMS_OF[name] if a in arms):
            extra = arm_settings(arm, pretrained)
            for seed in SEEDS:
                out[(name, arm, "report", seed)] = TrainConfig(data=data, seed=seed, **base, **REPORT_SCHEDULE, **extra)
            if long_sets is None or name in long_sets:
                out[(name, arm, "long", 0)] = TrainConfig(data=data, seed=0, **base, **LONG_SCHEDULE, **extra)
    return out


def pretrain(threads: int) -> str:
    """The checkpoint the pretrained arm starts from: detection alone on the pretraining photo set, 40 epochs."""
    cfg = TrainConfig(data=data_of("pretrain"), task="det", weighting="fixed", epochs=40, eval_every=10,
                      threads=threads, scale=TrainConfig().scale)
    run = get_or_train_all({"pretrain": cfg})["pretrain"]
    return str(run.path / "model.pt")


def table(runs: dict) -> pd.DataFrame:
    """One row per run: set, arm, schedule, seed, validation and test figures, epochs trained."""
    rows = []
    for (name, arm, schedule, seed), run in runs.items():
        m = run.metrics
        rows.append(dict(set=name, arm=arm, schedule=schedule, seed=seed, val_mAP50=m["val_mAP50"],
                         val_view_accuracy=m["val_view_accuracy"], test_mAP50=m.get("test_mAP50", np.nan),
                         test_view_accuracy=m.get("test_view_accuracy", np.nan), epochs=m["stopped_epoch"],
                         best_epoch=m["best_epoch"], converged=m["converged"]))
    return pd.DataFrame(rows)


def paired(df: pd.DataFrame) -> pd.DataFrame:
    """Per set and arm, the report schedule's paired differences from ``off`` (mean and 95 % t interval over the
    seeds both ran; ``n`` of them) of val mAP50 and view accuracy, and the long schedule's single-seed values.
    An arm without report runs has NaN there and n = 0."""
    rows = []
    rep = df[df.schedule == "report"].set_index(["set", "arm", "seed"]).sort_index()
    long = df[df.schedule == "long"].set_index(["set", "arm"]).sort_index()
    for (name, arm), _ in df.groupby(["set", "arm"], sort=False):
        row = {"set": name, "arm": arm, "n": 0}
        for metric in ("val_mAP50", "val_view_accuracy"):
            values = rep.loc[(name, arm), metric] if (name, arm) in rep.index.droplevel(2) else pd.Series(dtype=float)
            row[f"{metric} (mean)"] = float(values.mean()) if len(values) else np.nan
            row["n"] = len(values)
            if arm != "off":
                off = rep.loc[(name, "off"), metric] if (name, "off") in rep.index.droplevel(2) else pd.Series(dtype=float)
                d = (values - off.reindex(values.index)).dropna()
                mean, lo, hi = mean_ci(d) if len(d) > 1 else (float(d.mean()) if len(d) else np.nan, np.nan, np.nan)
                row[f"{metric} vs off"], row[f"{metric} lo"], row[f"{metric} hi"] = mean, lo, hi
                row["n"] = len(d)
        if (name, arm) in long.index:
            row["long val_mAP50"] = float(long.loc[(name, arm), "val_mAP50"])
            row["long val_view_accuracy"] = float(long.loc[(name, arm), "val_view_accuracy"])
        rows.append(row)
    return pd.DataFrame(rows)


def chosen(diffs: pd.DataFrame) -> dict[str, bool]:
    """arm -> whether it becomes a default (the module's rule)."""
    out = {}
    for arm, rows in diffs[diffs.arm != "off"].groupby("arm", sort=False):  # a NaN interval (n < 2) meets nothing
        out[arm] = bool(((rows["val_mAP50 lo"] > 0) & (rows["val_view_accuracy hi"] >= 0)).all())
    return out


def stored(cfgs: dict) -> tuple[dict, list]:
    """The runs of ``cfgs`` already in the store, and the keys of those that are not (nothing trains)."""
    from lib.store.runs import RunStore

    store = RunStore()
    runs = {k: store.get(c) for k, c in cfgs.items()}
    return {k: r for k, r in runs.items() if r is not None}, [k for k, r in runs.items() if r is None]


def cell(mean, lo, hi) -> str:
    return f"{format_value(mean)} [{format_value(lo)}, {format_value(hi)}]"


def capped(runs_table: pd.DataFrame) -> str:
    """The report-schedule runs that reached the epoch cap without the plateau rule firing, per set and arm."""
    rep = runs_table[runs_table.schedule == "report"]
    counts = rep[rep.converged == False].groupby(["set", "arm"]).size()  # noqa: E712  (a column of bools)
    if counts.empty:
        return "Every report-schedule run stopped on the plateau rule."
    parts = [f"{name}/{arm} {k} of {len(rep[(rep.set == name) & (rep.arm == arm)])}" for (name, arm), k in counts.items()]
    return (f"Report-schedule runs that reached the {REPORT_SCHEDULE['epochs']}-epoch cap still gaining (not converged): "
            f"{', '.join(parts)}; their comparison is at the cap, not at convergence.")


def markdown(diffs: pd.DataFrame, choice: dict[str, bool], runs_table: pd.DataFrame | None = None) -> str:
    header = ["set", "arm", "n", "val mAP50 (report)", "vs off", "view acc (report)", "vs off", "val mAP50 (80 ep)",
              "view acc (80 ep)"]
    rows = []
    for r in diffs.itertuples(index=False):
        d = r._asdict()
        vs = lambda m: ("" if r.arm == "off" else "n/a" if r.n < 2 else
                        cell(d[f"{m}_vs_off"], d[f"{m}_lo"], d[f"{m}_hi"]))
        rows.append([r.set, r.arm, str(r.n), format_value(d["val_mAP50__mean_"]), vs("val_mAP50"),
                     format_value(d["val_view_accuracy__mean_"]), vs("val_view_accuracy"),
                     format_value(d.get("long_val_mAP50", np.nan)), format_value(d.get("long_val_view_accuracy", np.nan))])
    kept = [a for a, ok in choice.items() if ok]
    verdict = (f"Chosen as a default: {', '.join(kept)}." if kept else
               "No arm met the rule, so the defaults stay: no augmentation, from scratch (a user's --weights and "
               "augmentation flags still apply).")
    return (f"{markdown_table(header, rows)}\n\nn: seeds on the report schedule (of {len(SEEDS)} planned; mean, and "
            f"the paired difference from `off` with its 95 % t interval, n/a below 2 seeds); the 80-epoch columns are "
            f"seed 0 alone (n/a: not run). {verdict}\n" + ("" if runs_table is None else f"\n{capped(runs_table)}\n"))


def snake(df: pd.DataFrame) -> pd.DataFrame:
    return df.rename(columns=lambda c: re.sub(r"\W", "_", c))


def publish(diffs: pd.DataFrame, choice: dict[str, bool], runs_table: pd.DataFrame, missing=()) -> None:
    """README's recipe block and docs/bench/recipe.md, from the measured tables only; ``missing``: the planned runs
    not trained, named on the page."""
    from lib.report.provenance import collect

    from .docs import machine, page

    body = markdown(snake(diffs), choice, runs_table)
    if missing:
        body += (f"\nNot trained (the session's CPU ran out; `python -m benchmarks.recipe` trains them): "
                 f"{len(missing)} of the planned runs, " + ", ".join("/".join(map(str, k)) for k in missing) + ".\n")
    prov = collect()
    write_text(DOCS / "recipe.md", f"# Recipe: augmentation and pretrained weights\n\nWritten by `python -m "
               f"benchmarks.recipe`, {machine(prov)}. Rule and arms: the module's docstring.\n\n{body}")
    write_text(DOCS / "recipe_runs.md", page("recipe_runs", runs_table, prov, "python -m benchmarks.recipe"))
    text = README.read_text()
    if BEGIN in text and END in text:
        head, rest = text.split(BEGIN, 1)
        write_text(README, f"{head}{BEGIN}\n{body}{END}{rest.split(END, 1)[1]}")


def main(argv=None) -> None:
    p = argparse.ArgumentParser(prog="python -m benchmarks.recipe", description=__doc__.split("\n")[0])
    p.add_argument("--sets", nargs="+", default=list(ARMS_OF), choices=list(ARMS_OF))
    p.add_argument("--arms", nargs="+", default=list(ARMS), choices=list(ARMS))
    p.add_argument("--long-sets", nargs="+", choices=list(ARMS_OF), default=None,
                   help="sets that also train the 80-epoch schedule (default: every set)")
    p.add_argument("--stored", action="store_true",
                   help="train nothing: the table of every run already stored, the README block and pages written "
                        "from it, the runs not trained named")
    p.add_argument("--jobs", type=int, default=2, help="runs side by side (each with --threads)")
    p.add_argument("--threads", type=int, default=1)
    args = p.parse_args(argv)
    os.environ.setdefault("ECHO_MTL_JOBS", str(args.jobs))
    weights = pretrain(args.threads) if "pretrained" in args.arms else None
    cfgs = configs(args.sets, weights, args.threads, args.arms, args.long_sets)
    missing = []
    if args.stored:
        runs, missing = stored(cfgs)
        print("not trained:", ", ".join("/".join(map(str, k)) for k in missing) or "none")
    else:
        runs = get_or_train_all(cfgs, jobs=args.jobs)
    runs_table = table(runs)
    write("recipe_runs", runs_table)
    diffs = write("recipe", paired(runs_table))
    choice = chosen(diffs)
    print("\nchosen:", choice)
    if sorted(args.sets) == sorted(ARMS_OF) and sorted(args.arms) == sorted(ARMS):
        publish(diffs, choice, runs_table, missing)


if __name__ == "__main__":
    main()

"""One training loop for every model x weighting, and the ``python -m lib.train`` command line.

    python -m lib.train --model shared --weighting gradnorm --epochs 10
    python -m lib.train --data path/to/data.yaml --model dual --imgsz 320 --device cuda

Progress goes to stderr; the last stdout line is one JSON object with the
final metrics on the ``val`` split, the parameter count and the training time.
"""
from __future__ import annotations

import argparse
import json
import math
import os
import sys
import time
import warnings
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np
import pandas as pd
import torch
from tqdm import tqdm

from . import interference
from .atomic import torch_save, write_text
from .config import MODELS, TASK_SETS, TrainConfig
from .data import DataError, EchoDataset, LabelError, make_loader, read_data_yaml
from .data.synthetic import ensure_synthetic
from .evaluate import evaluate
from .losses import DetectionLoss, view_loss
from .memory import PeakMemory
from .models import build_model, default_anchors, fit_anchors
from .models.base import MultiTaskModel
from .seeding import resolve_device, seed_everything
from .weighting import WEIGHTINGS, build_weighting

REPO_ROOT = Path(__file__).resolve().parent.parent
# Where the synthetic data and the run store live; tests point these at temporary folders.
DEFAULT_DATA_ROOT = Path(os.environ.get("ECHO_MTL_DATA", REPO_ROOT / "data"))
DEFAULT_RUNS_ROOT = Path(os.environ.get("ECHO_MTL_RUNS", REPO_ROOT / "runs"))
TIMING_COLUMNS = ("step_time", "data_time", "probe_time", "epoch_time", "eval_time")


class NonFiniteLossError(FloatingPointError):
    """A task loss became NaN or infinite; names the step and the task."""

    def __init__(self, step: int, epoch: int, task: str, value: float, checkpoint: Path | None):
        kept = f"; last good checkpoint kept at {checkpoint}" if checkpoint else ""
        super().__init__(f"non-finite {task} loss ({value}) at step {step} (epoch {epoch + 1}): training stopped{kept}")
        self.step, self.epoch, self.task, self.value = step, epoch, task, value


def resolve_data(data: str | None) -> Path:
    """The data.yaml to use: the given one, or the synthetic default (generated and cached once)."""
    if data is None:
        return ensure_synthetic(root=DEFAULT_DATA_ROOT)
    path = Path(data)
    if not path.exists():
        raise FileNotFoundError(f"data.yaml not found: {path}")
    return path


_DATASETS: dict[tuple, EchoDataset] = {}


def load_split(data_yaml: Path, split: str, imgsz: int) -> EchoDataset:
    """Decoded, letterboxed split; kept in memory for the process (several runs share it)."""
    key = (str(Path(data_yaml).resolve()), split, imgsz)
    if key not in _DATASETS:
        _DATASETS[key] = EchoDataset(read_data_yaml(data_yaml), split, imgsz)
    return _DATASETS[key]


def param_groups(model: torch.nn.Module, weight_decay: float) -> list[dict]:
    """Weight decay on conv/linear weights only, not on BatchNorm or biases (as YOLOv5)."""
    decay, no_decay = [], []
    for p in model.parameters():
        (decay if p.dim() > 1 else no_decay).append(p)
    return [{"params": decay, "weight_decay": weight_decay}, {"params": no_decay, "weight_decay": 0.0}]


def lr_lambda(cfg: TrainConfig, steps_per_epoch: int):
    """Linear warm-up from 10% of the peak, then cosine decay to ``final_lr_ratio`` of it."""
    warm = max(1, int(cfg.warmup_epochs * steps_per_epoch))
    total = max(cfg.epochs * steps_per_epoch, warm + 1)

    def f(step: int) -> float:
        if step < warm:
            return 0.1 + 0.9 * step / warm
        progress = (step - warm) / (total - warm)
        return cfg.final_lr_ratio + (1 - cfg.final_lr_ratio) * 0.5 * (1 + math.cos(math.pi * min(progress, 1.0)))

    return f


def default_weighting_options(cfg: TrainConfig) -> dict:
    """Upstream's fixed weights (det 1.0, cls 0.01) unless the config says otherwise."""
    opts = dict(cfg.weighting_options)
    if cfg.weighting == "fixed" and "weights" not in opts:
        opts["weights"] = [1.0, 0.01] if len(cfg.tasks) == 2 else [1.0]
    return opts


@dataclass
class RunResult:
    config: TrainConfig
    model: MultiTaskModel
    history: pd.DataFrame        # one row per optimizer step
    epochs: pd.DataFrame         # one row per epoch (mean losses, val metrics)
    metrics: dict                # final figures (see Trainer.final_metrics)
    evals: dict = field(default_factory=dict)  # split -> lib.evaluate.EvalResult
    names: tuple[str, ...] = ()       # detection class names
    view_names: tuple[str, ...] = ()  # view names


class Trainer:
    """Builds data, model, loss, weighting and optimizer from a ``TrainConfig`` and trains.

    With ``run_dir`` set, a checkpoint is written (atomically) after every
    epoch and an interrupted run resumes from it with identical results.
    """

    def __init__(self, cfg: TrainConfig, run_dir: str | Path | None = None, progress: bool = True):
        self.cfg = cfg
        self.run_dir = Path(run_dir) if run_dir else None
        self.progress = progress
        self.device = resolve_device(cfg.device)
        if cfg.threads:
            torch.set_num_threads(cfg.threads)
        seed_everything(cfg.seed)
        self.data_yaml = resolve_data(cfg.data)
        self.train_set = load_split(self.data_yaml, "train", cfg.imgsz)
        self.val_set = load_split(self.data_yaml, "val", cfg.imgsz)
        self.names, self.view_names = self.train_set.names, self.train_set.view_names
        self.n_train = len(self.train_set) if not cfg.max_train_images else min(cfg.max_train_images, len(self.train_set))

        tasks = cfg.tasks
        self.anchors = self._anchors()
        self.model = build_model(cfg.model, len(self.names), len(self.view_names), self.anchors, cfg.scale, tasks)
        if "det" in tasks:
            self.model.detect.initialize_biases(cfg.imgsz)
        self.model.to(self.device)
        self.det_loss = DetectionLoss(self.model.detect, cfg.imgsz) if "det" in tasks else None
        self.weighting = build_weighting(cfg.weighting, len(tasks), **default_weighting_options(cfg))
        groups = param_groups(self.model, cfg.weight_decay)
        extra = self.weighting.parameters()
        if extra:
            groups.append({"params": extra, "weight_decay": 0.0})
        self.optimizer = torch.optim.AdamW(groups, lr=cfg.lr, foreach=True)
        self.steps_per_epoch = math.ceil(self.n_train / cfg.batch_size)
        self.scheduler = torch.optim.lr_scheduler.LambdaLR(self.optimizer, lr_lambda(cfg, self.steps_per_epoch))
        self.history: list[dict] = []
        self.epoch_rows: list[dict] = []
        self.start_epoch = 0
        self.step = 0
        self.last_val = None  # EvalResult of the latest validation

    # -- setup -------------------------------------------------------------
    def _anchors(self) -> torch.Tensor:
        if self.cfg.anchors == "default":
            return default_anchors(self.cfg.imgsz)
        boxes = [rec.boxes[:, 3:5] for rec in self.train_set.labels[: self.n_train] if len(rec.boxes)]
        wh = np.concatenate(boxes) if boxes else np.zeros((0, 2))
        if len(wh) < 9:  # too few labels to fit 9 anchors
            warnings.warn(f"only {len(wh)} labelled boxes: using YOLOv5's default anchors scaled to {self.cfg.imgsz} px")
            return default_anchors(self.cfg.imgsz)
        return fit_anchors(wh * self.cfg.imgsz)

    def _loader(self, epoch: int):
        subset = self.train_set
        if self.n_train < len(self.train_set):
            subset = torch.utils.data.Subset(self.train_set, range(self.n_train))
        # one generator seed per epoch: a resumed run sees the same order
        return make_loader(subset, self.cfg.batch_size, shuffle=True, seed=self.cfg.seed * 100_003 + epoch)

    # -- the step ----------------------------------------------------------
    def task_losses(self, det_out, cls_out, batch) -> tuple[list[torch.Tensor], dict[str, float]]:
        losses, items = [], {}
        if self.det_loss is not None:
            l_det, parts = self.det_loss(det_out, batch.targets.to(self.device))
            losses.append(l_det)
            items.update(loss_box=float(parts[0]), loss_obj=float(parts[1]), loss_jetcls=float(parts[2]))
        if "cls" in self.cfg.tasks:
            losses.append(view_loss(cls_out, batch.views.to(self.device)))
        for task, loss in zip(self.cfg.tasks, losses):
            items[f"loss_{task}"] = float(loss.detach())
        return losses, items

    def check_finite(self, losses, epoch: int) -> None:
        for task, loss in zip(self.cfg.tasks, losses):
            if not torch.isfinite(loss):
                ckpt = self.checkpoint_path if self.checkpoint_path and self.checkpoint_path.exists() else None
                raise NonFiniteLossError(self.step, epoch, task, float(loss.detach()), ckpt)

    def train_step(self, batch, epoch: int) -> dict:
        t0 = time.perf_counter()
        images = batch.images.to(self.device, non_blocking=True)
        det_out, cls_out = self.model(images)
        losses, row = self.task_losses(det_out, cls_out, batch)
        self.check_finite(losses, epoch)

        probe_time = 0.0
        if self.cfg.probe_every and len(losses) == 2 and self.step % self.cfg.probe_every == 0:
            tp = time.perf_counter()
            row.update(interference.measure(losses, self.model.shared_parameters()))
            probe_time = time.perf_counter() - tp

        self.optimizer.zero_grad(set_to_none=True)
        outputs = [o for o, t in ((det_out, "det"), (cls_out, "cls")) if t in self.cfg.tasks]
        info = self.weighting.backward(losses, self.model, outputs=outputs)
        if self.cfg.grad_clip:
            torch.nn.utils.clip_grad_norm_(self.model.parameters(), self.cfg.grad_clip)
        self.optimizer.step()
        self.scheduler.step()
        if self.device.type == "cuda":
            torch.cuda.synchronize()
        row.update({f"w_{t}": w for t, w in zip(self.cfg.tasks, info.weights)})
        row.update(info.extra)
        row["lr"] = self.optimizer.param_groups[0]["lr"]
        row["step_time"] = time.perf_counter() - t0 - probe_time
        row["probe_time"] = probe_time
        return row

    # -- the loop ----------------------------------------------------------
    @property
    def checkpoint_path(self) -> Path | None:
        return self.run_dir / "checkpoint.pt" if self.run_dir else None

    def fit(self) -> RunResult:
        cfg = self.cfg
        self.maybe_resume()
        with PeakMemory(self.device) as self.memory:
            self.train_epochs()
        return self.finish()

    def train_epochs(self) -> None:
        cfg = self.cfg
        total = cfg.epochs * self.steps_per_epoch
        bar = tqdm(total=total, initial=self.start_epoch * self.steps_per_epoch, disable=not self.progress,
                   desc=f"{cfg.model}/{cfg.weighting}/{cfg.task}", file=sys.stderr, mininterval=2.0, leave=False)
        for epoch in range(self.start_epoch, cfg.epochs):
            self.model.train()
            t_epoch = time.perf_counter()
            t_data = time.perf_counter()
            for batch in self._loader(epoch):
                data_time = time.perf_counter() - t_data
                row = {"epoch": epoch, "step": self.step, **self.train_step(batch, epoch), "data_time": data_time}
                self.history.append(row)
                self.step += 1
                bar.update(1)
                bar.set_postfix({k: f"{row[k]:.3f}" for k in row if k.startswith("loss_") or k.startswith("w_")}, refresh=False)
                t_data = time.perf_counter()
            self.weighting.on_epoch_end()
            self.epoch_rows.append(self.end_of_epoch(epoch, time.perf_counter() - t_epoch))
            self.save_checkpoint(epoch)
        bar.close()

    def end_of_epoch(self, epoch: int, seconds: float) -> dict:
        rows = [r for r in self.history if r["epoch"] == epoch]
        out = {"epoch": epoch, "epoch_time": seconds, "steps": len(rows)}
        for key in rows[0]:
            if key.startswith(("loss_", "w_")):
                out[key] = float(np.mean([r[key] for r in rows]))
        if (epoch + 1) % self.cfg.eval_every == 0 or epoch + 1 == self.cfg.epochs:
            t0 = time.perf_counter()
            result = self.last_val = self.evaluate("val")
            out.update({f"val_{k}": v for k, v in result.metrics().items()})
            out.update({f"val_loss_{k}": v for k, v in result.losses.items()})
            out["eval_time"] = time.perf_counter() - t0
        return out

    def recalibrate_batchnorm(self) -> None:
        """Recompute BatchNorm running statistics with the current weights ("precise BN").

        YOLOv5's BN momentum (0.03) tracks features that change quickly in a
        short run too slowly: eval-mode accuracy then falls far below
        train-mode accuracy. Averaging the statistics over a fixed set of
        training images before each evaluation removes the lag (Wu & Johnson,
        "Rethinking 'Batch' in BatchNorm", 2021).
        """
        n = min(self.cfg.bn_calibration_images, self.n_train)
        if n == 0:
            return
        subset = torch.utils.data.Subset(self.train_set, range(n))
        loader = make_loader(subset, max(self.cfg.batch_size, 32), shuffle=False, seed=0)
        images = (b.images.to(self.device) for b in loader)
        torch.optim.swa_utils.update_bn(images, self.model)

    def evaluate(self, split: str):
        self.recalibrate_batchnorm()
        dataset = self.val_set if split == "val" else load_split(self.data_yaml, split, self.cfg.imgsz)
        loader = make_loader(dataset, max(self.cfg.batch_size, 32), shuffle=False, seed=0)
        cls_loss = view_loss if "cls" in self.cfg.tasks else None
        return evaluate(self.model, loader, self.device, det_loss=self.det_loss, cls_loss=cls_loss, imgsz=self.cfg.imgsz)

    # -- checkpoints ---------------------------------------------------------
    def save_checkpoint(self, epoch: int) -> None:
        if not self.run_dir:
            return
        torch_save({
            "config": self.cfg.to_json(), "epoch": epoch, "step": self.step,
            "model": self.model.state_dict(), "optimizer": self.optimizer.state_dict(),
            "scheduler": self.scheduler.state_dict(), "weighting": self.weighting.state_dict(),
            "history": self.history, "epochs": self.epoch_rows, "rng": torch.get_rng_state(),
        }, self.checkpoint_path)

    def maybe_resume(self) -> None:
        path = self.checkpoint_path
        if not path or not path.exists():
            return
        state = torch.load(path, map_location=self.device, weights_only=True)
        if state["config"] != self.cfg.to_json():
            raise ValueError(f"{path} belongs to another configuration; delete it or use another run folder")
        self.model.load_state_dict(state["model"])
        self.optimizer.load_state_dict(state["optimizer"])
        self.scheduler.load_state_dict(state["scheduler"])
        self.weighting.load_state_dict(state["weighting"])
        self.history, self.epoch_rows = list(state["history"]), list(state["epochs"])
        torch.set_rng_state(state["rng"].cpu())
        self.start_epoch, self.step = state["epoch"] + 1, state["step"]
        print(f"resumed from {path} after epoch {state['epoch'] + 1}/{self.cfg.epochs}", file=sys.stderr)

    # -- results -------------------------------------------------------------
    def finish(self) -> RunResult:
        # the last epoch was just evaluated on val (unless resumed after it); only test is new
        evals = {"val": self.last_val if self.last_val is not None else self.evaluate("val")}
        if "test" in self.spec_splits():
            evals["test"] = self.evaluate("test")
        history = pd.DataFrame(self.history)
        epochs = pd.DataFrame(self.epoch_rows)
        metrics = self.final_metrics(history, epochs, evals)
        return RunResult(self.cfg, self.model, history, epochs, metrics, evals, tuple(self.names), tuple(self.view_names))

    def spec_splits(self) -> tuple[str, ...]:
        return tuple(read_data_yaml(self.data_yaml).splits)

    def final_metrics(self, history: pd.DataFrame, epochs: pd.DataFrame, evals: dict) -> dict:
        counts = self.model.parameter_counts()
        out: dict = {}
        for split, res in evals.items():
            out.update({f"{split}_{k}": v for k, v in res.metrics().items()})
        out.update({
            "parameters": counts["total"],
            **{f"parameters_{k}": v for k, v in counts.items() if k != "total"},
            "train_seconds": float(history["step_time"].sum() + history["data_time"].sum()),
            "seconds_per_epoch": float(epochs["epoch_time"].mean()),
            "seconds_per_step": float(history["step_time"].median()),
            "steps": int(len(history)),
            "peak_memory_mb": self.memory.peak_mb,          # RSS on the CPU, allocator peak on CUDA
            "train_memory_mb": self.memory.increase_mb,     # above the level when training began
            "device": str(self.device),
        })
        for key in ("grad_cos", "grad_gms"):
            if key in history:
                out[f"mean_{key}"] = float(history[key].mean())
        if "grad_cos" in history and history["grad_cos"].notna().any():
            out["conflict_rate"] = float((history["grad_cos"].dropna() < 0).mean())
        for t in self.cfg.tasks:
            out[f"final_w_{t}"] = float(history[f"w_{t}"].iloc[-1])
        return out


def train(cfg: TrainConfig, run_dir: str | Path | None = None, progress: bool = True) -> RunResult:
    return Trainer(cfg, run_dir, progress).fit()


# -- command line --------------------------------------------------------------
def build_parser() -> argparse.ArgumentParser:
    d = TrainConfig()
    p = argparse.ArgumentParser(prog="python -m lib.train", description=__doc__.split("\n\n")[0],
                                formatter_class=argparse.ArgumentDefaultsHelpFormatter)
    p.add_argument("--data", default=None, help="data.yaml of a dataset (default: the synthetic benchmark)")
    p.add_argument("--model", choices=MODELS, default=d.model)
    p.add_argument("--scale", default=d.scale, help="model size: cpu, n, s, m, l")
    p.add_argument("--task", choices=tuple(TASK_SETS), default=d.task)
    p.add_argument("--weighting", choices=sorted(WEIGHTINGS), default=d.weighting)
    p.add_argument("--weights", type=float, nargs="+", help="fixed task weights (fixed), or GradNorm's initial weights")
    p.add_argument("--alpha", type=float, help="GradNorm alpha")
    p.add_argument("--option", action="append", default=[], metavar="KEY=JSON",
                   help="any other weighting option, e.g. --option lr=0.01")
    for name in ("epochs", "batch_size", "imgsz", "seed", "probe_every", "eval_every", "max_train_images", "threads"):
        p.add_argument("--" + name.replace("_", "-"), type=int, default=getattr(d, name))
    for name in ("lr", "weight_decay", "warmup_epochs", "grad_clip"):
        p.add_argument("--" + name.replace("_", "-"), type=float, default=getattr(d, name))
    p.add_argument("--anchors", choices=("fit", "default"), default=d.anchors)
    p.add_argument("--device", default=d.device)
    p.add_argument("--runs", default=str(DEFAULT_RUNS_ROOT), help="run store folder")
    p.add_argument("--force", action="store_true", help="train again even if the run store has this run")
    p.add_argument("--no-progress", action="store_true")
    return p


def config_from_args(args: argparse.Namespace) -> TrainConfig:
    options: dict = {}
    for item in args.option:
        key, _, value = item.partition("=")
        options[key] = json.loads(value)
    if args.weights is not None:
        options["weights" if args.weighting == "fixed" else "initial_weights"] = args.weights
    if args.alpha is not None:
        options["alpha"] = args.alpha
    return TrainConfig(
        data=args.data, model=args.model, scale=args.scale, task=args.task, weighting=args.weighting,
        weighting_options=options, epochs=args.epochs, batch_size=args.batch_size, imgsz=args.imgsz,
        lr=args.lr, weight_decay=args.weight_decay, warmup_epochs=args.warmup_epochs, grad_clip=args.grad_clip,
        seed=args.seed, device=args.device, anchors=args.anchors, probe_every=args.probe_every,
        eval_every=args.eval_every, max_train_images=args.max_train_images, threads=args.threads)


def main(argv: list[str] | None = None) -> int:
    from .runstore import RunStore

    args = build_parser().parse_args(argv)
    try:
        cfg = config_from_args(args)
    except (ValueError, json.JSONDecodeError) as e:
        print(f"error: {e}", file=sys.stderr)
        return 2
    try:
        run = RunStore(args.runs).get_or_train(cfg, force=args.force, progress=not args.no_progress, in_process=True)
    except (LabelError, DataError, FileNotFoundError, NonFiniteLossError) as e:
        print(f"error: {e}", file=sys.stderr)  # the message names the file and line, or the step and task
        return 2
    m = run.metrics
    summary = {k: m.get(f"val_{k}") for k in ("mAP50", "mAP50_95", "precision", "recall", "view_accuracy", "view_macro_f1")}
    summary.update(parameters=m["parameters"], train_seconds=m["train_seconds"], run=str(run.path))
    print(json.dumps(summary))
    return 0


if __name__ == "__main__":
    sys.exit(main())

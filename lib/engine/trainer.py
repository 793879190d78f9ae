"""One training loop for every model x weighting: ``Trainer(cfg, run_dir).fit() -> RunResult``.

The trainer keeps setup, the step and the loop; the optimizer and schedule are ``lib.engine.optim``'s,
checkpoints ``lib.engine.checkpoint``'s, the logged columns and final figures ``lib.engine.history``'s, the logs
written after every epoch (``results.csv``, TensorBoard) ``lib.engine.logs``'s. It changes nothing in the process
around it: thread count and deterministic mode are set only while it works (``seeding.torch_settings``), and its
random generators are its own (``seeding.own_rng``), saved in every checkpoint.

Under ``torchrun`` (``lib.engine.distributed``) every rank runs this loop on its shard of each batch (``batch_size``
stays the global batch: each rank takes ``batch_size / N`` images, from a seeded ``DistributedSampler``); the update
is ``lib.engine.update.apply_update``'s, identical on every rank. Rank 0 alone evaluates and writes checkpoints and
logs; every rank resumes from them. With ``amp='fp16'`` the step runs under a ``GradScaler``; with ``ema_decay`` > 0
evaluation and the saved model use the weights' moving average (``lib.engine.ema``). With ``patience`` > 0 the run
stops on a validation plateau and the best epoch's evaluated weights are tested and saved (``lib.engine.stopping``).
"""
from __future__ import annotations

import math
import sys
import time
import warnings
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np
import pandas as pd
import torch
from tqdm import tqdm

from .checkpoint import TrainState, resume
from ..config import TrainConfig
from ..data import load_split, loader_workers, make_loader, read_data_yaml, resolve_data, training_loader
from .distributed import all_reduce_mean, barrier, broadcast_module, check_global_batch, cuda_device_of, prepare_solo_group, solo_batchnorm, sync_batchnorm, world
from .ema import ModelEMA
from ..evaluate import evaluate, interference
from ..evaluate.batchnorm import recalibrate_batchnorm
from .history import summarise
from .logs import RunLogs
from ..losses import DetectionLoss, view_loss
from .memory import PeakMemory
from ..models import build_model, forward_with_boundary, run_anchors
from ..models.base import MultiTaskModel
from .nonfinite import check_losses, check_weighting
from .optim import build_optimizer, build_scheduler
from .precision import autocast, grad_scaler, to_memory_format
from .seeding import capture_rng, own_rng, resolve_device, restore_rng, seed_everything, torch_settings
from .stopping import Plateau
from .update import apply_update
from ..weighting import build_weighting
from ..weights import load_weights


@dataclass
class RunResult:
    config: TrainConfig
    model: MultiTaskModel
    history: pd.DataFrame        # one row per optimizer step (lib.engine.history)
    epochs: pd.DataFrame         # one row per epoch (mean losses, val metrics)
    metrics: dict                # final figures (lib.engine.history.summarise)
    evals: dict = field(default_factory=dict)  # split -> lib.evaluate.EvalResult
    names: tuple[str, ...] = ()       # detection class names
    view_names: tuple[str, ...] = ()  # view names


class Trainer:
    """Builds data, model, loss, weighting and optimizer from a ``TrainConfig`` and trains. With ``run_dir`` set, a
    checkpoint and the logs are written (atomically) after every epoch; an interrupted run resumes identically."""

    def __init__(self, cfg: TrainConfig, run_dir: str | Path | None = None, progress: bool = True):
        self.cfg = cfg
        self.run_dir = Path(run_dir) if run_dir else None
        self.world = world()
        self.progress = progress and self.world.main
        self.device = resolve_device(cuda_device_of(cfg.device, self.world))
        check_global_batch(cfg.batch_size, self.world.size)
        self.data_yaml = resolve_data(cfg.data)
        self.logs = RunLogs(self.run_dir if self.world.main else None)  # rank 0 writes; no folder, no logs
        with torch_settings(cfg.threads), own_rng():
            seed_everything(cfg.seed)
            self._setup()
            self.rng = capture_rng()  # the run's generators continue from here in fit()

    def _setup(self) -> None:
        cfg = self.cfg
        self.train_set = load_split(self.data_yaml, "train", cfg.imgsz, cfg.on_bad_label, cfg.cache)
        self.val_set = load_split(self.data_yaml, "val", cfg.imgsz, cfg.on_bad_label, cfg.cache)
        self.names, self.view_names = self.train_set.names, self.train_set.view_names
        self.n_train = min(cfg.max_train_images, len(self.train_set)) if cfg.max_train_images else len(self.train_set)
        tasks = cfg.tasks
        boxes = [rec.boxes[:, 3:5] for rec in self.train_set.labels[: self.n_train] if len(rec.boxes)]
        self.anchors = run_anchors(cfg.anchors, np.concatenate(boxes) if boxes else np.zeros((0, 2)), cfg.imgsz)
        self.model = build_model(cfg.model, len(self.names), len(self.view_names), self.anchors, cfg.scale, tasks)
        if "det" in tasks:
            self.model.detect.initialize_biases(cfg.imgsz)
        if cfg.weights is not None:  # after the bias init, before the optimizer: transferred biases replace it
            load_weights(self.model, cfg.weights, announce=self.world.main)
        self.model = to_memory_format(self.model.to(self.device), cfg.memory_format)
        self.model = sync_batchnorm(self.model, self.device)
        broadcast_module(self.model)  # every rank starts from rank 0's weights
        prepare_solo_group()
        self.det_loss = DetectionLoss(self.model.detect, cfg.imgsz) if "det" in tasks else None
        self.weighting = build_weighting(cfg.weighting, len(tasks), **cfg.weighting_options).to(self.device)
        self.use_boundary = self.weighting.wants_boundary(self.model)
        # the method's parameters that require a gradient (UW's log-variances) train with the model; GradNorm's w
        # and FAMO's logits have their own optimizer
        trained = [p for p in self.weighting.parameters() if p.requires_grad]
        self.optimizer = build_optimizer(cfg, self.model, trained)
        self.rank_batch = cfg.batch_size // self.world.size
        self.steps_per_epoch = math.ceil(math.ceil(self.n_train / self.world.size) / self.rank_batch)
        self.scheduler = build_scheduler(cfg, self.optimizer, self.steps_per_epoch)
        self.scaler = grad_scaler(self.device, cfg.amp)
        self.ema = ModelEMA(self.model, cfg.ema_decay, cfg.ema_tau) if cfg.ema_decay else None
        self.plateau = Plateau(cfg.patience, tasks, cfg.epochs, cfg.min_delta)
        self.history, self.epoch_rows = [], []  # one row per step, one per epoch
        self.start_epoch, self.step, self.skipped_steps = 0, 0, 0
        self.train_loader = training_loader(cfg, self.train_set, self.n_train, self.rank_batch, self.world.size,
                                            self.world.rank, self.device)
        self.last_val = None  # EvalResult of the latest validation
        self._calibrated_at = None  # optimizer step at which BatchNorm statistics were last recalibrated

    def _loader(self, epoch: int):
        self.train_loader.sampler.set_epoch(epoch)
        return self.train_loader

    # -- the step ----------------------------------------------------------
    def task_losses(self, det_out, view_out, batch) -> tuple[list[torch.Tensor], dict[str, float]]:
        losses, items = [], {}
        if self.det_loss is not None:
            l_det, parts = self.det_loss(det_out, batch.targets.to(self.device))
            losses.append(l_det)
            items.update(loss_box=float(parts[0]), loss_obj=float(parts[1]), loss_cls=float(parts[2]))
        if "view" in self.cfg.tasks:
            losses.append(view_loss(view_out, batch.views.to(self.device)))
        for task, loss in zip(self.cfg.tasks, losses):
            items[f"loss_{task}"] = float(loss.detach())
        if self.world.size > 1:  # the history logs the global batch's losses
            keys = list(items)
            mean = all_reduce_mean(torch.tensor([items[k] for k in keys], dtype=torch.float64, device=self.device))
            items = dict(zip(keys, mean.tolist()))
        return losses, items

    def train_step(self, batch, epoch: int) -> dict:
        t0 = time.perf_counter()
        images = to_memory_format(batch.images.to(self.device, non_blocking=True), self.cfg.memory_format)
        with autocast(self.device, self.cfg.amp):  # forward and losses; every backward below runs outside
            if self.use_boundary:
                (det_out, view_out), boundary = forward_with_boundary(self.model, images)
            else:
                (det_out, view_out), boundary = self.model(images), None
            losses, row = self.task_losses(det_out, view_out, batch)
        check_losses(self.cfg.tasks, losses, self.step, epoch, self.last_checkpoint)

        measure_time = 0.0
        every = self.cfg.interference_every
        if every and len(losses) == 2 and self.step % every == 0:
            tp = time.perf_counter()
            row.update(interference.measure(losses, self.model.shared_parameters(), boundary, self.model.shared_layers()))
            measure_time = time.perf_counter() - tp

        outputs = [o for o, t in ((det_out, "det"), (view_out, "view")) if t in self.cfg.tasks]
        info, skipped = apply_update(self.weighting, losses, self.model, self.optimizer, outputs=outputs,
                                     boundary=boundary, scaler=self.scaler, grad_clip=self.cfg.grad_clip,
                                     before_step=lambda info: check_weighting(self.weighting, info, self.cfg,
                                                                              self.step, epoch, self.last_checkpoint))
        with warnings.catch_warnings():  # a skipped first step: the schedule still advances, one step per batch
            warnings.filterwarnings("ignore", r"Detected call of `lr_scheduler\.step\(\)` before", UserWarning)
            self.scheduler.step()
        if self.ema is not None and not skipped:
            self.ema.update(self.model)
        self.skipped_steps += skipped
        if self.device.type == "cuda":
            torch.cuda.synchronize()
        row.update({f"w_{t}": w for t, w in zip(self.cfg.tasks, info.weights)})
        row.update(info.extra)
        row["lr"] = self.optimizer.param_groups[0]["lr"]
        if self.scaler is not None:
            row["grad_scale"] = float(self.scaler.get_scale())  # after this step's update
            row["skipped"] = int(skipped)
        row["step_time"] = time.perf_counter() - t0 - measure_time
        row["interference_time"] = measure_time
        return row

    # -- the loop ----------------------------------------------------------
    @property
    def checkpoint_path(self) -> Path | None:
        return self.run_dir / "checkpoint.pt" if self.run_dir else None

    @property
    def last_checkpoint(self) -> Path | None:
        """The checkpoint written so far, if any (named when a run stops on a non-finite value)."""
        return self.checkpoint_path if self.checkpoint_path and self.checkpoint_path.exists() else None

    def fit(self) -> RunResult:
        with torch_settings(self.cfg.threads), own_rng():
            restore_rng(self.rng)
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
            if self.plateau.stopped():
                break
            self.model.train()
            t_epoch = t_data = time.perf_counter()
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
            barrier()  # the other ranks wait while rank 0 evaluates and writes
        bar.close()

    def end_of_epoch(self, epoch: int, seconds: float) -> dict:
        rows = [r for r in self.history if r["epoch"] == epoch]
        out = {"epoch": epoch, "epoch_time": seconds, "steps": len(rows)}
        for key in rows[0]:
            if key.startswith(("loss_", "w_")):
                out[key] = float(np.mean([r[key] for r in rows]))
        if self.world.main and ((epoch + 1) % self.cfg.eval_every == 0 or epoch + 1 == self.cfg.epochs):
            t0 = time.perf_counter()
            result = self.last_val = self.evaluate("val")
            out.update({f"val_{k}": v for k, v in result.metrics().items()})
            out.update({f"val_loss_{k}": v for k, v in result.losses.items()})
            out["eval_time"] = time.perf_counter() - t0
            self.plateau.observe(epoch, result, self.eval_model)
        return out

    def evaluate(self, split: str):
        """Precise-BN recalibration on train images, then both tasks scored on ``split``. The recalibration is
        skipped when the weights have not moved since the last one (the test split right after the last validation):
        it is deterministic, so it would compute the same statistics again."""
        batch_size = max(self.cfg.batch_size, 32)
        model = self.eval_model
        # own_rng: evaluation leaves the run's generators as they were, so rank 0 (which alone evaluates) and
        # the other ranks keep drawing the same numbers, and rank 0's saved state resumes every rank
        with solo_batchnorm(model), own_rng():
            if self._calibrated_at != self.step:
                recalibrate_batchnorm(model, self.train_set, min(self.cfg.bn_calibration_images, self.n_train),
                                      batch_size, self.device)
                self._calibrated_at = self.step
            dataset = self.val_set if split == "val" else load_split(self.data_yaml, split, self.cfg.imgsz,
                                                                     self.cfg.on_bad_label, self.cfg.cache)
            loader = make_loader(dataset, batch_size, shuffle=False, seed=0,
                                 workers=0 if dataset.cache == "ram" else loader_workers(self.cfg, dataset),
                                 persistent=False)
            view_loss_fn = view_loss if "view" in self.cfg.tasks else None
            return evaluate(model, loader, self.device, det_loss=self.det_loss, view_loss_fn=view_loss_fn,
                            imgsz=self.cfg.imgsz)

    @property
    def eval_model(self) -> MultiTaskModel:
        """The weights that are evaluated and saved: the moving average with ``ema_decay``, else the model's."""
        return self.ema.module if self.ema is not None else self.model

    # -- checkpoints (lib.engine.checkpoint) ------------------------------------
    def save_checkpoint(self, epoch: int) -> None:
        if self.run_dir and self.world.main:
            TrainState.of(self, epoch).save(self.checkpoint_path)
            self.logs.epoch_done(self.history, self.epoch_rows)  # after the checkpoint: a resumed run rewrites it

    def maybe_resume(self) -> None:
        if self.checkpoint_path and self.checkpoint_path.exists():
            resume(self, TrainState.load(self.checkpoint_path))

    # -- results -------------------------------------------------------------
    def finish(self) -> RunResult | None:
        """The run's result, on rank 0; None on the other ranks (rank 0 evaluates alone)."""
        if not self.world.main:
            return None
        self.logs.close()
        if self.plateau.best_model is not None:  # the best epoch's weights, BatchNorm as recalibrated then
            self.eval_model.load_state_dict(self.plateau.best_model)
            self.last_val, self._calibrated_at = self.plateau.best_val, self.step
        # the tested epoch was evaluated on val (unless resumed after it); only test is new
        evals = {"val": self.last_val if self.last_val is not None else self.evaluate("val")}
        if "test" in read_data_yaml(self.data_yaml).splits:
            evals["test"] = self.evaluate("test")
        history, epochs = pd.DataFrame(self.history), pd.DataFrame(self.epoch_rows)
        metrics = summarise(history, epochs, evals, self.cfg.tasks, self.model.parameter_counts(), self.memory,
                            self.device, self.plateau)
        metrics.update(world_size=self.world.size)
        if self.scaler is not None:
            metrics.update(skipped_steps=self.skipped_steps)
        return RunResult(self.cfg, self.eval_model, history, epochs, metrics, evals, tuple(self.names),
                         tuple(self.view_names))

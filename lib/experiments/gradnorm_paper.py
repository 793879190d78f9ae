"""GradNorm's synthetic regression benchmark (Chen et al., ICML 2018, sec. 5.1).

T tasks share inputs x in R^250; task i's target is
    f_i(x) = sigma_i * tanh((B + eps_i) x),
with B and eps_i fixed random matrices (100 x 250) whose entries are drawn from
N(0, 10) and N(0, 3.5) (we read the second argument as the standard
deviation, as public re-implementations do). The sigma_i set each task's loss
scale, so with equal weights the large-sigma tasks dominate the shared trunk.
Model: ``PaperToyModel`` (4 x 100 ReLU trunk, one affine head per task),
squared loss. Every method sees the same initial network and the same data.
"""
from __future__ import annotations

from dataclasses import dataclass
from io import StringIO

import numpy as np
import pandas as pd
import torch

from ..models import PaperToyModel
from ..weighting import Equal, GradNorm


@dataclass(frozen=True)
class PaperToyConfig:
    sigmas: tuple[float, ...] = (1.0, 100.0)
    d_in: int = 250
    d_out: int = 100
    b_std: float = 10.0
    eps_std: float = 3.5
    n_train: int = 5000
    n_test: int = 1000
    steps: int = 2000
    batch_size: int = 100
    lr: float = 1e-3           # Adam, network
    alpha: float = 0.12        # the paper's value for this benchmark
    gradnorm_lr: float = 0.025
    eval_every: int = 50
    seed: int = 0


def make_data(cfg: PaperToyConfig):
    g = torch.Generator().manual_seed(cfg.seed)
    B = torch.randn(cfg.d_out, cfg.d_in, generator=g) * cfg.b_std
    eps = [torch.randn(cfg.d_out, cfg.d_in, generator=g) * cfg.eps_std for _ in cfg.sigmas]

    def targets(x):
        return [s * torch.tanh(x @ (B + e).T) for s, e in zip(cfg.sigmas, eps)]

    x_train = torch.randn(cfg.n_train, cfg.d_in, generator=g)
    x_test = torch.randn(cfg.n_test, cfg.d_in, generator=g)
    return (x_train, targets(x_train)), (x_test, targets(x_test))


def mse_losses(model, x, ys):
    return [(p - y).pow(2).mean() for p, y in zip(model(x), ys)]


def train_toy(cfg: PaperToyConfig, method: str) -> pd.DataFrame:
    """One training run; rows every ``eval_every`` steps: weights, train and test loss per task."""
    (x_tr, y_tr), (x_te, y_te) = make_data(cfg)
    torch.manual_seed(cfg.seed)  # same initial network for every method
    T = len(cfg.sigmas)
    model = PaperToyModel(T, cfg.d_in, cfg.d_out)
    opt = torch.optim.Adam(model.parameters(), lr=cfg.lr)
    if method == "gradnorm":
        weighting = GradNorm(T, alpha=cfg.alpha, lr=cfg.gradnorm_lr)
    elif method == "equal":
        weighting = Equal(T)
    else:
        raise ValueError(f"method must be 'equal' or 'gradnorm', got {method!r}")
    g = torch.Generator().manual_seed(cfg.seed + 7)
    rows = []
    with torch.no_grad():
        test0 = torch.stack(mse_losses(model, x_te, y_te))
    for step in range(cfg.steps + 1):
        idx = torch.randint(0, cfg.n_train, (cfg.batch_size,), generator=g)
        losses = mse_losses(model, x_tr[idx], [y[idx] for y in y_tr])
        if step % cfg.eval_every == 0 or step == cfg.steps:
            with torch.no_grad():
                test = torch.stack(mse_losses(model, x_te, y_te))
            w = getattr(weighting, "weights", [1.0] * T)
            row = {"step": step, "method": method}
            for i in range(T):
                row[f"w{i}"] = w[i]
                row[f"test_loss{i}"] = float(test[i])
                row[f"norm_test_loss{i}"] = float(test[i] / test0[i])
            row["sum_norm_test_loss"] = float((test / test0).sum())
            rows.append(row)
        if step == cfg.steps:
            break
        opt.zero_grad(set_to_none=True)
        weighting.backward(losses, model)
        opt.step()
    return pd.DataFrame(rows)


# the modules the toy's numbers come from (lib.store.codekey follows their imports)
TOY_MODULES = ("lib.experiments.gradnorm_paper",)


def compare(cfg: PaperToyConfig, cache: bool = True) -> pd.DataFrame:
    """Equal weights and GradNorm on the same data and initialisation; ``cache``: kept on disk
    (``lib.store.cache``) under the config, the torch version and the code of ``TOY_MODULES``."""
    if not cache:
        return _compute(cfg)
    from ..store.cache import memory
    from ..store.codekey import code_fingerprint

    return memory().cache(_cached)(cfg, torch.__version__, code_fingerprint(TOY_MODULES))


def _compute(cfg: PaperToyConfig) -> pd.DataFrame:
    from ..engine.seeding import torch_settings

    with torch_settings(1):  # the numbers do not depend on the machine's or the kernel's thread count
        return pd.concat([train_toy(cfg, m) for m in ("equal", "gradnorm")], ignore_index=True)


def _cached(cfg: PaperToyConfig, torch_version: str, code: str) -> pd.DataFrame:
    """``_compute`` through CSV, as the cache before joblib kept it; ``torch_version`` and ``code`` key the cache."""
    return pd.read_csv(StringIO(_compute(cfg).to_csv(index=False)))


def ten_task_sigmas(n: int = 10, low: float = 1.0, high: float = 100.0) -> tuple[float, ...]:
    """Scales spread evenly (in log) over two orders of magnitude."""
    return tuple(float(s) for s in np.geomspace(low, high, n))

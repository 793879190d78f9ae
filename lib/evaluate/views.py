"""Image-level view classification metrics.

From the confusion matrix C (rows true class, columns predicted class):

    accuracy    = trace(C) / sum(C)
    precision_c = C[c, c] / sum_i C[i, c],   recall_c = C[c, c] / sum_j C[c, j]
    F1_c        = 2 precision_c recall_c / (precision_c + recall_c)

with 0/0 := 0. ``macro_f1`` averages F1_c over the classes that occur in the
targets or in the predictions; a view absent from both has no meaningful F1
and is left out (so a validation split lacking a view is not penalised).
With no samples, accuracy and macro F1 are NaN.
"""

from __future__ import annotations

from dataclasses import dataclass

import pandas as pd
import torch
from torch import Tensor
from torchmetrics.functional.classification import multiclass_confusion_matrix

from ._names import as_list


@dataclass
class ViewReport:
    """``per_class``: precision, recall, F1, support (true count) per view; ``confusion``: rows true, columns predicted."""

    accuracy: float
    macro_f1: float
    per_class: pd.DataFrame
    confusion: pd.DataFrame


def _div(a: Tensor, b: Tensor) -> Tensor:
    return torch.where(b > 0, a / b.clamp(min=1), torch.zeros_like(a))


def view_metrics(pred: Tensor, target: Tensor, names) -> ViewReport:
    """Metrics of predicted view indices ``pred`` (N,) against ``target`` (N,)."""
    names = as_list(names)
    nc = len(names)
    pred, target = pred.detach().cpu().long().flatten(), target.detach().cpu().long().flatten()
    cm = multiclass_confusion_matrix(pred, target, num_classes=nc) if len(target) else (
        torch.zeros(nc, nc, dtype=torch.long))
    cmf = cm.double()
    tp, n_pred, n_true = cmf.diag(), cmf.sum(0), cmf.sum(1)
    precision, recall = _div(tp, n_pred), _div(tp, n_true)
    f1 = _div(2 * precision * recall, precision + recall)
    present = (n_pred + n_true) > 0
    n = cm.sum()
    per_class = pd.DataFrame(
        {"precision": precision.numpy(), "recall": recall.numpy(), "F1": f1.numpy(),
         "support": n_true.long().numpy()},
        index=pd.Index(names, name="view"),
    )
    confusion = pd.DataFrame(cm.numpy(), index=names, columns=names)
    confusion.index.name, confusion.columns.name = "true", "pred"
    return ViewReport(
        accuracy=float(tp.sum() / n) if n else float("nan"),
        macro_f1=float(f1[present].mean()) if present.any() else float("nan"),
        per_class=per_class,
        confusion=confusion,
    )

"""COCO's evaluation grids, exactly as pycocotools builds them.

pycocotools ``cocoeval.Params.setDetParams`` (and faster-coco-eval, which
copies it) uses float64 NumPy grids::

    iouThrs = np.linspace(.5, 0.95, int(np.round((0.95 - .5) / .05)) + 1, endpoint=True)
    recThrs = np.linspace(.0, 1.00, int(np.round((1.00 - .0) / .01)) + 1, endpoint=True)

The numbers matter to the last bit: COCO counts a recall threshold r as
reached when some recall ``tp / n_gt >= r`` (``np.searchsorted(rc, recThrs,
side='left')``) and a match when ``IoU >= t``. torchmetrics' default grids
are float32 ``torch.linspace`` values, so 0.6 becomes 0.6000000238 and 0.85
becomes 0.8500000238: a recall of exactly 3/5 no longer reaches the 0.6
point, and an IoU of exactly 0.85 is no longer a match at 0.85. Both lower
AP against pycocotools. Always pass these lists instead (torchmetrics hands
them to the backend as ``np.array(..., dtype=np.float64)``, unchanged).
"""

from __future__ import annotations

import numpy as np

#: IoU thresholds 0.50:0.05:0.95 (10), float64, as pycocotools.
IOU_THRESHOLDS: list[float] = np.linspace(
    0.5, 0.95, int(np.round((0.95 - 0.5) / 0.05)) + 1, endpoint=True).tolist()

#: Recall thresholds 0:0.01:1 (101), float64, as pycocotools.
REC_THRESHOLDS: list[float] = np.linspace(
    0.0, 1.00, int(np.round((1.00 - 0.0) / 0.01)) + 1, endpoint=True).tolist()

#: Index of IoU 0.5 (AP50); ``list.index`` needs the exact value 0.5.
IOU50: int = IOU_THRESHOLDS.index(0.5)

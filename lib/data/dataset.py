"""``EchoDataset``: one split decoded once into memory, letterboxed, with labels and views.

The benchmark's splits are small (hundreds of ~192x144 frames), so every image is
decoded once with PIL and kept as one uint8 tensor (N, 3, S, S); an epoch then
costs no decoding at all and is bit-identical across runs. Bad files fail loudly
at construction, naming the file (``on_bad_label="error"``), or are skipped with
a single warning that counts them (``"skip"``).
"""
from __future__ import annotations

import warnings
from typing import NamedTuple

import numpy as np
import torch
from torch.utils.data import Dataset

from .errors import DataError, LabelError
from .files import split_files
from .images import load_rgb
from .labels import LabelRecord, parse_label_file
from .letterbox import boxes_to_letterbox, letterbox
from .spec import IMG_EXTS, DataSpec

ON_BAD_LABEL = ("error", "skip")


class Sample(NamedTuple):
    """One item. ``index`` is the dataset index, carried so a batch knows which frames it holds."""

    image: torch.Tensor    # uint8 (3, S, S)
    targets: torch.Tensor  # float32 (n, 5) [cls, cx, cy, w, h], normalised to the letterboxed square
    view: int
    index: int


class EchoDataset(Dataset):
    """Images of one split of a ``DataSpec``, letterboxed to ``imgsz`` x ``imgsz``.

    Attributes: ``names``, ``view_names``, ``paths`` (image paths kept), ``labels``
    (``LabelRecord`` per image, boxes in letterboxed coordinates), ``views`` (long
    tensor), ``images`` (uint8 (N, 3, S, S)), ``orig_sizes`` (N, 2) original (w, h),
    ``skipped`` (messages of skipped files).
    """

    def __init__(self, spec: DataSpec, split: str, imgsz: int, on_bad_label: str = "error"):
        if on_bad_label not in ON_BAD_LABEL:
            raise ValueError(f"on_bad_label={on_bad_label!r}; expected one of {ON_BAD_LABEL}")
        self.names, self.view_names, self.imgsz = spec.names, spec.view_names, imgsz
        files = split_files(spec, split)
        if not files.images:
            raise DataError(f"{spec.yaml_path}: split '{split}' ({spec.splits[split]}) has no images "
                            f"(looked for {', '.join(IMG_EXTS)})")
        self.skipped: list[str] = []

        def bad(err: LabelError) -> None:
            if on_bad_label == "error":
                raise err
            self.skipped.append(str(err))

        for orphan in files.orphan_labels:
            bad(LabelError(orphan, None, "label file has no image: expected an image with the same stem "
                                         "in the sibling images folder"))
        pixels = np.empty((len(files.images), 3, imgsz, imgsz), dtype=np.uint8)
        self.paths, self.labels, views, sizes = [], [], [], []
        for img_path, lbl_path in zip(files.images, files.labels):
            try:
                if not lbl_path.is_file():
                    raise LabelError(img_path, None, f"image has no label file (expected {lbl_path})")
                record = parse_label_file(lbl_path, spec.nc, spec.n_views)
                rgb = load_rgb(img_path)
            except LabelError as err:
                bad(err)
                continue
            boxed, scale, pad = letterbox(rgb, imgsz)
            pixels[len(self.paths)] = boxed.transpose(2, 0, 1)
            h, w = rgb.shape[:2]
            self.labels.append(LabelRecord(boxes_to_letterbox(record.boxes, (w, h), scale, pad, imgsz), record.view))
            self.paths.append(img_path)
            views.append(record.view)
            sizes.append((w, h))
        if self.skipped:
            head = "\n  ".join(self.skipped[:5])
            warnings.warn(f"split '{split}': skipped {len(self.skipped)} bad image/label file(s); first:\n  {head}",
                          stacklevel=2)
        if not self.paths:
            raise DataError(f"{spec.yaml_path}: split '{split}' has no usable images ({len(self.skipped)} skipped)")
        n = len(self.paths)
        self.images = torch.from_numpy(pixels if n == len(pixels) else pixels[:n].copy())
        self.views = torch.tensor(views, dtype=torch.long)
        self.orig_sizes = np.asarray(sizes, dtype=np.int64)
        self._targets = [torch.from_numpy(r.boxes) for r in self.labels]

    def __len__(self) -> int:
        return len(self.paths)

    def __getitem__(self, i: int) -> Sample:
        return Sample(self.images[i], self._targets[i], int(self.views[i]), i)

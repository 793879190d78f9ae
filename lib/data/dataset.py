"""``EchoDataset``: one split decoded once into memory, letterboxed, with labels and views.

The benchmark's splits are small (hundreds of ~192x144 frames), so every image is
decoded once with PIL and kept as one uint8 tensor (N, 3, S, S); an epoch then
costs no decoding at all and is bit-identical across runs. Bad files fail loudly
at construction, naming the file (``on_bad_label="error"``), or are skipped with
one warning that counts them by cause (``"skip"``); what was repaired on the
way (duplicate rows, clipped coordinates, ignored files) is said once per kind
(``lib.data.notes``).
"""
from __future__ import annotations

from typing import NamedTuple

import numpy as np
import torch
from torch.utils.data import Dataset

from ..config import ON_BAD_LABEL
from .errors import DataError, LabelError
from .files import split_files
from .images import IMAGE_SUFFIXES, load_rgb
from .labels import parse_label_file
from .letterbox import boxes_to_letterbox, letterbox
from .notes import SplitNotes
from .spec import DataSpec



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
    tensor), ``images`` (uint8 (N, 3, S, S)), ``orig_sizes`` (N, 2) original (w, h)
    after EXIF orientation, ``notes`` (``SplitNotes``: what was skipped, dropped,
    clipped or ignored; printed as one warning per kind).

    Raises ``LabelError`` naming the first bad file (``on_bad_label="error"``), or
    ``DataError`` when a split has no usable image.
    """

    def __init__(self, spec: DataSpec, split: str, imgsz: int, on_bad_label: str = "error"):
        if on_bad_label not in ON_BAD_LABEL:
            raise ValueError(f"on_bad_label={on_bad_label!r}; expected one of {ON_BAD_LABEL}")
        self.names, self.view_names, self.imgsz, self.split = spec.names, spec.view_names, imgsz, split
        files = split_files(spec, split)
        notes = self.notes = SplitNotes(split)

        def bad(err: LabelError) -> None:
            if on_bad_label == "error":
                raise err
            notes.skipped.append(err)

        for problem in files.problems:
            bad(problem)
        if not files.images and not notes.skipped:
            sources = ", ".join(str(p) for p in spec.splits[split])
            raise DataError(f"{spec.yaml_path}: split '{split}' ({sources}) has no images "
                            f"(looked for {', '.join(IMAGE_SUFFIXES)})")
        for orphan in files.orphan_labels:
            bad(LabelError(orphan, None, "label file has no image: expected an image with the same stem "
                                         "in the sibling images folder", kind="label file has no image"))
        notes.ignored, notes.repeated = files.ignored, files.repeated
        pixels = np.empty((len(files.images), 3, imgsz, imgsz), dtype=np.uint8)
        self.paths, self.labels, views, sizes = [], [], [], []
        for img_path, lbl_path in zip(files.images, files.labels):
            try:
                if not lbl_path.is_file():
                    raise LabelError(img_path, None, f"image has no label file (expected {lbl_path})",
                                     kind="image has no label file")
                record = parse_label_file(lbl_path, spec.nc, spec.n_views)
                rgb = load_rgb(img_path)
            except LabelError as err:
                bad(err)
                continue
            notes.count(lbl_path, record)
            boxed, scale, pad = letterbox(rgb, imgsz)
            pixels[len(self.paths)] = boxed.transpose(2, 0, 1)
            h, w = rgb.shape[:2]
            self.labels.append(record._replace(boxes=boxes_to_letterbox(record.boxes, (w, h), scale, pad, imgsz)))
            self.paths.append(img_path)
            views.append(record.view)
            sizes.append((w, h))
        notes.warn()
        if not self.paths:
            raise DataError(f"{spec.yaml_path}: split '{split}' has no usable images ({len(notes.skipped)} skipped)")
        n = len(self.paths)
        self.images = torch.from_numpy(pixels if n == len(pixels) else pixels[:n].copy())
        self.views = torch.tensor(views, dtype=torch.long)
        self.orig_sizes = np.asarray(sizes, dtype=np.int64)
        self._targets = [torch.from_numpy(r.boxes) for r in self.labels]

    @property
    def skipped(self) -> list[str]:
        """The message of every file left out (``on_bad_label="skip"``)."""
        return [str(e) for e in self.notes.skipped]

    def __len__(self) -> int:
        return len(self.paths)

    def __getitem__(self, i: int) -> Sample:
        return Sample(self.images[i], self._targets[i], int(self.views[i]), i)

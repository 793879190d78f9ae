"""``EchoDataset``: one split, letterboxed, with labels and views; its frames in RAM, on disk or decoded per item.

``cache`` says where the letterboxed frames live (YOLOv5's ``--cache``):
- ``"ram"``: every image decoded once with PIL into one uint8 tensor (N, 3, S, S); an epoch costs no decoding.
  The benchmark's splits are small (hundreds of ~192x144 frames), so this is what they use.
- ``"disk"``: decoded once into a memory-mapped ``.npy`` file (``frames_file``), read one frame per item: the
  process holds no more than the frames in use (the page cache holds the rest, and gives it back).
- ``"none"``: only labels and image headers are read here; each item is decoded when it is asked for (in the
  ``DataLoader``'s workers), so memory does not grow with the split. A file damaged past its header then fails
  when it is first read, with the same ``LabelError``.

Every mode gives the same pixels (``load_rgb`` then ``letterbox``). Bad files fail loudly
at construction, naming the file (``on_bad_label="error"``), or are skipped with
one warning that counts them by cause (``"skip"``); what was repaired on the
way (duplicate rows, clipped coordinates, ignored files) is said once per kind
(``lib.data.notes``).
"""
from __future__ import annotations

from pathlib import Path
from typing import NamedTuple

import numpy as np
import torch
from torch.utils.data import Dataset

from ..config import ON_BAD_LABEL
from .errors import DataError, LabelError
from .files import split_files
from .images import IMAGE_SUFFIXES, image_size, load_rgb
from .labels import parse_label_file
from .letterbox import boxes_to_letterbox, letterbox, letterbox_geometry
from .notes import SplitNotes
from .spec import DataSpec

FRAME_STORES = ("ram", "disk", "none")  # where the frames live; TrainConfig.cache adds "auto" (lib.data.source)


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
    tensor), ``images`` (uint8 (N, 3, S, S); with ``cache="ram"`` only), ``orig_sizes`` (N, 2) original (w, h)
    after EXIF orientation, ``notes`` (``SplitNotes``: what was skipped, dropped,
    clipped or ignored; printed as one warning per kind).

    Raises ``LabelError`` naming the first bad file (``on_bad_label="error"``), or
    ``DataError`` when a split has no usable image.
    """

    def __init__(self, spec: DataSpec, split: str, imgsz: int, on_bad_label: str = "error", cache: str = "ram",
                 frames_file: str | Path | None = None):
        if on_bad_label not in ON_BAD_LABEL:
            raise ValueError(f"on_bad_label={on_bad_label!r}; expected one of {ON_BAD_LABEL}")
        if cache not in FRAME_STORES or (cache == "disk") != (frames_file is not None):
            raise ValueError(f"cache={cache!r} (one of {FRAME_STORES}); frames_file is given with 'disk' only")
        self.names, self.view_names, self.imgsz, self.split = spec.names, spec.view_names, imgsz, split
        self.cache, self.frames_file, self._frames = cache, frames_file and str(frames_file), None
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
        shape = (len(files.images), 3, imgsz, imgsz)
        pixels = (np.empty(shape, dtype=np.uint8) if cache == "ram" else
                  np.lib.format.open_memmap(frames_file, mode="w+", dtype=np.uint8, shape=shape) if cache == "disk"
                  else None)
        self.paths, self.labels, views, sizes = [], [], [], []
        for img_path, lbl_path in zip(files.images, files.labels):
            try:
                if not lbl_path.is_file():
                    raise LabelError(img_path, None, f"image has no label file (expected {lbl_path})",
                                     kind="image has no label file")
                record = parse_label_file(lbl_path, spec.nc, spec.n_views)
                if pixels is None:
                    w, h = image_size(img_path)
                else:
                    rgb = load_rgb(img_path)
                    h, w = rgb.shape[:2]
            except LabelError as err:
                bad(err)
                continue
            notes.count(lbl_path, record)
            scale, pad = letterbox_geometry((w, h), imgsz)
            if pixels is not None:
                pixels[len(self.paths)] = letterbox(rgb, imgsz)[0].transpose(2, 0, 1)
            self.labels.append(record._replace(boxes=boxes_to_letterbox(record.boxes, (w, h), scale, pad, imgsz)))
            self.paths.append(img_path)
            views.append(record.view)
            sizes.append((w, h))
        notes.warn()
        if not self.paths:
            raise DataError(f"{spec.yaml_path}: split '{split}' has no usable images ({len(notes.skipped)} skipped)")
        n = len(self.paths)
        if cache == "ram":
            self.images = torch.from_numpy(pixels if n == len(pixels) else pixels[:n].copy())
        elif cache == "disk":
            pixels.flush()  # rows past n (skipped files) stay unused
            del pixels
        self.views = torch.tensor(views, dtype=torch.long)
        self.orig_sizes = np.asarray(sizes, dtype=np.int64)
        self._targets = [torch.from_numpy(r.boxes) for r in self.labels]

    @property
    def skipped(self) -> list[str]:
        """The message of every file left out (``on_bad_label="skip"``)."""
        return [str(e) for e in self.notes.skipped]

    def __len__(self) -> int:
        return len(self.paths)

    @property
    def frame_bytes(self) -> int:
        """Bytes of the split's letterboxed frames, decoded: N x 3 x S x S."""
        return len(self.paths) * 3 * self.imgsz ** 2

    def frame(self, i: int) -> torch.Tensor:
        """Letterboxed frame ``i``, uint8 (3, S, S), from wherever ``cache`` keeps it."""
        if self.cache == "ram":
            return self.images[i]
        if self.cache == "disk":
            if self._frames is None:  # opened in each process (a DataLoader worker) on first use
                self._frames = np.load(self.frames_file, mmap_mode="r")
            return torch.from_numpy(np.array(self._frames[i]))
        rgb = load_rgb(self.paths[i])
        if tuple(rgb.shape[1::-1]) != tuple(self.orig_sizes[i]):  # an orientation the header did not show
            raise LabelError(self.paths[i], None, f"decoded as {rgb.shape[1]}x{rgb.shape[0]} but its header read "
                                                  f"{self.orig_sizes[i][0]}x{self.orig_sizes[i][1]} (an EXIF "
                                                  "orientation after the pixels?); use cache ram or disk",
                             kind="image size differs from its header")
        return torch.from_numpy(letterbox(rgb, self.imgsz)[0].transpose(2, 0, 1).copy())

    def __getstate__(self) -> dict:
        return {**self.__dict__, "_frames": None}  # a memory map is reopened, never pickled

    def __getitem__(self, i: int) -> Sample:
        return Sample(self.frame(i), self._targets[i], int(self.views[i]), i)

"""Small data sets written the way their owners lay them out, for the loader tests.

* ``upstream``: the echo project's Roboflow export: ``train/valid/test`` each with
  ``images`` and ``labels``; ``data.yaml`` at the root with ``train: ../train/images``
  (relative to a folder the export does not have), ``nc``/``names`` and the view
  classes as ``num_cls``/``cls_names``; frames ``<patient>-<clip>.mp4-<frame>.png``;
  polygon lines, a blank line, the one-hot view line, no trailing newline.
* ``ultralytics``: ``images/{train,val}`` + ``labels/{train,val}``, ``path`` set,
  ``names`` as a dict, box lines, view as one index.
* ``listed``: ``.txt`` lists of ``./images/...`` paths (COCO's ``train2017.txt`` style).

Every frame is dark with one bright rectangle per object, drawn where its label says.
"""
from __future__ import annotations

from pathlib import Path

import numpy as np
from PIL import Image

NAMES = ("AR", "MR", "PR", "TR")
VIEWS = ("PSAX", "PLAX", "A4C")


def draw(path: Path, boxes, size=(48, 32), fmt: str | None = None, value=(230, 200, 60)) -> Path:
    """A dark RGB frame (w, h = size) with each normalised box [cls, cx, cy, w, h] filled bright."""
    w, h = size
    a = np.full((h, w, 3), 12, np.uint8)
    for _, cx, cy, bw, bh in boxes:
        x0, x1 = round((cx - bw / 2) * w), round((cx + bw / 2) * w)
        y0, y1 = round((cy - bh / 2) * h), round((cy + bh / 2) * h)
        a[max(y0, 0):y1, max(x0, 0):x1] = value
    path.parent.mkdir(parents=True, exist_ok=True)
    Image.fromarray(a).save(path, format=fmt)
    return path


def label_text(boxes, view: int, n_views: int = 3, variant: str = "box", view_form: str = "onehot") -> str:
    lines = []
    for cls, cx, cy, bw, bh in boxes:
        if variant == "polygon":
            x0, y0, x1, y1 = cx - bw / 2, cy - bh / 2, cx + bw / 2, cy + bh / 2
            lines.append(f"{int(cls)} {x0:.4f} {y0:.4f} {x1:.4f} {y0:.4f} {x1:.4f} {y1:.4f} {x0:.4f} {y1:.4f}")
        else:
            lines.append(f"{int(cls)} {cx:.6f} {cy:.6f} {bw:.6f} {bh:.6f}")
    if variant == "polygon" and lines:
        lines.append("")
    view_line = " ".join("1" if i == view else "0" for i in range(n_views)) if view_form == "onehot" else str(view)
    return "\n".join(lines + [view_line])


def _box(rng, cls: int) -> list[float]:
    bw, bh = rng.uniform(0.2, 0.35), rng.uniform(0.25, 0.4)
    return [cls, rng.uniform(0.3, 0.7), rng.uniform(0.3, 0.7), bw, bh]


def upstream(root: Path, counts=(12, 6, 6), frames_per_clip: int = 5, seed: int = 0) -> Path:
    """The upstream export; frames of one clip land in several splits (as in the real data)."""
    rng = np.random.default_rng(seed)
    total = sum(counts)
    n_clips = -(-total // frames_per_clip)
    clips = [(f"P{c // 2:03d}", c % 2 + 1, int(rng.integers(3)), int(rng.integers(4))) for c in range(n_clips)]
    frames = [(clip, f) for clip in clips for f in range(frames_per_clip)][:total]
    order = rng.permutation(total)
    split_of = np.repeat(["train", "valid", "test"], counts)[np.argsort(order)]
    for ((patient, clip, view, cls), frame), split in zip(frames, split_of):
        stem = f"{patient}-{clip}.mp4-{frame}"
        boxes = [_box(rng, cls)]
        draw(root / split / "images" / f"{stem}.png", boxes)
        (root / split / "labels" / f"{stem}.txt").parent.mkdir(parents=True, exist_ok=True)
        variant = "polygon" if frame % 4 else "box"
        (root / split / "labels" / f"{stem}.txt").write_text(label_text(boxes, view, variant=variant))
    (root / "data.yaml").write_text(
        "train: ../train/images\nval: ../valid/images\ntest: ../test/images\n\n"
        f"nc: {len(NAMES)}\nnames: {list(NAMES)}\n\nnum_cls: {len(VIEWS)}\ncls_names: {list(VIEWS)}\n"
        "roboflow:\n  workspace: echo\n  project: regurgitation\n  version: 3\n")
    return root / "data.yaml"


def ultralytics(root: Path, n=(6, 4), seed: int = 1) -> Path:
    """Ultralytics' layout; labels use box lines and a single-index view line."""
    rng = np.random.default_rng(seed)
    for split, k in zip(("train", "val"), n):
        for i in range(k):
            boxes = [_box(rng, i % 4)]
            draw(root / "images" / split / f"im{i}.png", boxes)
            lbl = root / "labels" / split / f"im{i}.txt"
            lbl.parent.mkdir(parents=True, exist_ok=True)
            lbl.write_text(label_text(boxes, i % 3, view_form="index") + "\n")
    (root / "data.yaml").write_text(f"path: {root}\ntrain: images/train\nval: images/val\n"
                                    "names:\n  0: AR\n  1: MR\n  2: PR\n  3: TR\nview_names: [PSAX, PLAX, A4C]\n")
    return root / "data.yaml"


def listed(root: Path, n=(6, 4), seed: int = 2) -> Path:
    """``train.txt``/``val.txt`` lists of ``./images/<split>/x.png``, labels beside in ``labels/<split>``."""
    yaml_path = ultralytics(root, n, seed)
    for split in ("train", "val"):
        names = sorted(p.name for p in (root / "images" / split).iterdir())
        (root / f"{split}.txt").write_text("".join(f"./images/{split}/{x}\n" for x in names))
    yaml_path.write_text(yaml_path.read_text().replace("train: images/train", "train: train.txt")
                         .replace("val: images/val", "val: val.txt"))
    return yaml_path

"""Real-image detection sets in this project's layout, cut from the photographs scikit-image ships.

    python -m benchmarks.photo_set --kind target --seed 0      # prints the data.yaml path

Two kinds, each ``train``/``valid``/``test`` folders of 160x120 PNG frames and YOLO label files (box rows
``cls cx cy w h`` normalised, then the one-hot view line), and a ``data.yaml`` with ``names`` and ``view_names``:

* ``target``: coins (segmented by Otsu's threshold), faces (``lfw_subset``), the cat (``chelsea``) and the
  cup (``coffee``) pasted on random crops of the ``grass``, ``gravel`` and ``brick`` textures; the
  texture is the view. 600/200/200 frames.
* ``pretrain``: the rocket, the astronaut and the horse silhouette on ``hubble_deep_field``, ``moon`` and
  ``retina`` crops: other objects and other views, for pretraining a checkpoint. 600/200/200 frames.

Each frame holds 1 to 3 objects, each of a random class, sprite, size (longest side ``OBJECT_PX``), aspect,
flip and brightness, placed where it overlaps earlier ones little; the box is the pasted mask's extent.
Everything is drawn from ``numpy.random.SeedSequence((seed, kind, split, frame))``: one seed gives the same
bytes. The photographs are read in the bench venv (``benchmarks.bench_env``, where scikit-image is), which
runs this file with ``--extract``; frames are composed here, in the project's environment.

A set is built in a temporary folder and renamed into place once its ``COMPLETE`` marker is written
(``ensure_built``), so a half-written set is never read; ``benchmarks.yolov5_copy`` makes the same set readable
by stock YOLOv5 (box rows only, an absolute ``path``).
"""
from __future__ import annotations

import argparse
import json
import os
import shutil
import subprocess
import sys
import tempfile
from pathlib import Path

import numpy as np

# lib is imported where used: `--extract` runs this file in the bench venv, where lib is not installed.

VERSION = 1                                     # bump when drawing changes: published sets are rebuilt
MARKER = "COMPLETE"                             # written last into a set; its text says what was built
FRAME = (160, 120)                              # width, height in pixels
OBJECT_PX = (18, 56)                            # longest side of a pasted object, pixels
SPRITE_PX = 128                                 # sprites are stored at most this long (then only shrunk)
SPLIT_DIRS = {"train": "train", "val": "valid", "test": "test"}   # data.yaml key -> folder (real layout)
KINDS = {
    "target": {"names": ("coin", "face", "cat", "cup"), "views": ("grass", "gravel", "brick"),
               "sizes": {"train": 600, "val": 200, "test": 200}},
    "pretrain": {"names": ("rocket", "astronaut", "horse"), "views": ("hubble", "moon", "retina"),
                 "sizes": {"train": 600, "val": 200, "test": 200}},
}


# ---- the photographs (bench venv: scikit-image) -------------------------------------------------------------

def _ellipse(h: int, w: int) -> np.ndarray:
    """An (h, w) uint8 alpha mask, 255 inside the inscribed ellipse."""
    y, x = np.mgrid[:h, :w]
    return (((y + 0.5 - h / 2) / (h / 2)) ** 2 + ((x + 0.5 - w / 2) / (w / 2)) ** 2 <= 1.0).astype(np.uint8) * 255


def _rgb(img: np.ndarray) -> np.ndarray:
    """Grey (h, w) or colour (h, w, >=3) as (h, w, 3)."""
    return np.repeat(img[..., None], 3, axis=2) if img.ndim == 2 else img[..., :3]


def _rgba(img: np.ndarray, alpha: np.ndarray) -> np.ndarray:
    return np.dstack([_rgb(img).astype(np.uint8), alpha.astype(np.uint8)])


def _coins():
    """Every whole coin of ``skimage.data.coins``: Otsu's threshold on the smoothed image, holes filled, each
    round solid region (solidity > 0.9) one sprite masked by its region."""
    from scipy import ndimage as ndi
    from skimage import data, filters, measure, morphology

    img = data.coins()
    smooth = filters.gaussian(img, sigma=1.5, preserve_range=True)
    fg = ndi.binary_fill_holes(morphology.binary_opening(smooth > filters.threshold_otsu(smooth),
                                                         morphology.disk(3)))
    out = []
    for r in measure.regionprops(measure.label(fg)):
        if 500 <= r.area <= 5000 and r.solidity > 0.9:  # the bright top edge merges into one ragged region
            y0, x0, y1, x1 = r.bbox
            out.append(_rgba(img[y0:y1, x0:x1], r.image * 255))
    return out


def _horse():
    """The horse silhouette (``skimage.data.horse``, False on the horse) filled with a lit brown coat."""
    from skimage import data

    mask = ~data.horse()
    ys, xs = np.nonzero(mask)
    mask = mask[ys.min():ys.max() + 1, xs.min():xs.max() + 1]
    shade = np.linspace(1.15, 0.75, mask.shape[0])[:, None, None]          # lit from above
    coats = [(120, 72, 40), (60, 40, 30), (190, 160, 120)]
    return [_rgba(np.clip(np.ones(mask.shape + (3,)) * c * shade, 0, 255), mask * 255) for c in coats]


def _cut(img: np.ndarray, box: tuple[int, int, int, int], oval: bool = True) -> np.ndarray:
    """The crop ``box`` = (y0, y1, x0, x1) of ``img`` as an RGBA sprite, masked by its inscribed ellipse."""
    y0, y1, x0, x1 = box
    crop = img[y0:y1, x0:x1]
    return _rgba(crop, _ellipse(*crop.shape[:2]) if oval else np.full(crop.shape[:2], 255))


def extract(kind: str) -> tuple[list[list[np.ndarray]], list[np.ndarray]]:
    """``(sprites, backgrounds)`` of ``kind``: ``sprites[c]`` the RGBA uint8 (h, w, 4) cut-outs of class c,
    ``backgrounds[v]`` the RGB uint8 (H, W, 3) texture of view v. Needs scikit-image (the bench venv)."""
    from skimage import data

    if kind == "target":
        sprites = [_coins(),
                   [_rgba(f, _ellipse(*f.shape)) for f in (data.lfw_subset()[:100] * 255).round()],  # 100 faces, then non-faces
                   [_cut(data.chelsea(), (5, 295, 25, 395))],
                   [_cut(data.coffee(), (15, 395, 75, 480))]]
        backgrounds = [data.grass(), data.gravel(), data.brick()]
    elif kind == "pretrain":
        sprites = [[_cut(data.rocket(), (122, 408, 296, 349), oval=False)],
                   [_cut(data.astronaut(), (10, 300, 105, 320))],
                   _horse()]
        backgrounds = [data.hubble_deep_field(), data.moon(), data.retina()[300:1100, 300:1100]]
    else:
        raise ValueError(f"unknown kind {kind!r}: expected one of {', '.join(KINDS)}")
    return [[_shrink(s) for s in group] for group in sprites], [_rgb(b) for b in backgrounds]


def _shrink(sprite: np.ndarray) -> np.ndarray:
    from PIL import Image

    h, w = sprite.shape[:2]
    k = SPRITE_PX / max(h, w)
    if k >= 1:
        return sprite
    return np.asarray(Image.fromarray(sprite).resize((max(1, round(w * k)), max(1, round(h * k))), Image.LANCZOS))


def save_sources(path: Path, sprites, backgrounds) -> None:
    """``sprites``/``backgrounds`` as one ``.npz`` (keys ``s<class>_<i>``, ``b<view>``)."""
    arrays = {f"s{c}_{i}": s for c, group in enumerate(sprites) for i, s in enumerate(group)}
    arrays.update({f"b{v}": b for v, b in enumerate(backgrounds)})
    np.savez(path, **arrays)


def load_sources(path: Path, nc: int, n_views: int):
    """The inverse of ``save_sources``. Raises ``ValueError`` when a class or view has nothing."""
    with np.load(path) as z:
        sprites = [[z[k] for k in sorted((k for k in z.files if k.startswith(f"s{c}_")),
                                         key=lambda k: int(k.split("_")[1]))] for c in range(nc)]
        backgrounds = [z[f"b{v}"] for v in range(n_views) if f"b{v}" in z.files]
    if any(not g for g in sprites) or len(backgrounds) != n_views:
        raise ValueError(f"{path}: expected sprites of {nc} classes and {n_views} backgrounds")
    return sprites, backgrounds


# ---- frames (project venv: numpy and PIL) --------------------------------------------------------------------

def _resize(img: np.ndarray, w: int, h: int) -> np.ndarray:
    from PIL import Image

    return np.asarray(Image.fromarray(img).resize((w, h), Image.BILINEAR))


def _background(texture: np.ndarray, rng: np.random.Generator) -> np.ndarray:
    """A random crop of ``texture`` (a quarter to all of its width, the frame's aspect), resized to
    ``FRAME``, maybe mirrored, its brightness scaled by 0.8..1.2. Float32 (H, W, 3)."""
    W, H = FRAME
    th, tw = texture.shape[:2]
    cw = int(rng.integers(min(tw, th * W // H) // 4, min(tw, th * W // H) + 1))
    ch = cw * H // W
    y, x = int(rng.integers(0, th - ch + 1)), int(rng.integers(0, tw - cw + 1))
    out = _resize(np.ascontiguousarray(texture[y:y + ch, x:x + cw]), W, H).astype(np.float32)
    if rng.random() < 0.5:
        out = out[:, ::-1]
    return out * rng.uniform(0.8, 1.2)


def _overlaps(box, boxes, limit: float = 0.2) -> bool:
    """True when ``box`` (x0, y0, x1, y1) covers more than ``limit`` of itself or of one of ``boxes``."""
    for b in boxes:
        iw = min(box[2], b[2]) - max(box[0], b[0])
        ih = min(box[3], b[3]) - max(box[1], b[1])
        if iw > 0 and ih > 0:
            inter = iw * ih
            small = min((box[2] - box[0]) * (box[3] - box[1]), (b[2] - b[0]) * (b[3] - b[1]))
            if inter > limit * small:
                return True
    return False


def compose(sprites, backgrounds, rng: np.random.Generator, max_objects: int = 3, tries: int = 20):
    """One frame: ``(image uint8 (H, W, 3), boxes float (n, 5) [cls, cx, cy, w, h] normalised, view)``.

    The box of an object is the extent of its alpha > 127 within the frame. An object that finds no place
    overlapping the earlier ones by at most a fifth after ``tries`` draws is left out (n >= 1 always)."""
    W, H = FRAME
    view = int(rng.integers(len(backgrounds)))
    frame = _background(backgrounds[view], rng)
    placed, rows = [], []
    for k in range(int(rng.integers(1, max_objects + 1))):
        cls = int(rng.integers(len(sprites)))
        sprite = sprites[cls][int(rng.integers(len(sprites[cls])))]
        h, w = sprite.shape[:2]
        side = rng.uniform(*OBJECT_PX) / max(h, w)
        stretch = float(np.exp(rng.uniform(-0.15, 0.15)))
        sw, sh = max(4, round(w * side * stretch)), max(4, round(h * side / stretch))
        obj = _resize(sprite, sw, sh).astype(np.float32)
        if rng.random() < 0.5:
            obj = obj[:, ::-1]
        gain = rng.uniform(0.8, 1.2)
        for _ in range(tries if k else 1):  # the first object always fits: nothing to overlap
            x0, y0 = int(rng.integers(0, W - sw + 1)), int(rng.integers(0, H - sh + 1))
            if not _overlaps((x0, y0, x0 + sw, y0 + sh), placed):
                break
        else:
            continue
        alpha = obj[..., 3:] / 255.0
        region = frame[y0:y0 + sh, x0:x0 + sw]
        frame[y0:y0 + sh, x0:x0 + sw] = region * (1 - alpha) + obj[..., :3] * gain * alpha
        ys, xs = np.nonzero(obj[..., 3] > 127)
        if len(ys) == 0:
            continue
        bx0, by0, bx1, by1 = x0 + xs.min(), y0 + ys.min(), x0 + xs.max() + 1, y0 + ys.max() + 1
        placed.append((x0, y0, x0 + sw, y0 + sh))
        rows.append([cls, (bx0 + bx1) / 2 / W, (by0 + by1) / 2 / H, (bx1 - bx0) / W, (by1 - by0) / H])
    image = np.clip(frame, 0, 255).round().astype(np.uint8)
    return image, np.asarray(rows, dtype=np.float64).reshape(-1, 5), view


def frame_rng(seed: int, kind: str, split: str, index: int) -> np.random.Generator:
    """The generator of one frame: frames are independent of each other and of the split sizes."""
    return np.random.default_rng(np.random.SeedSequence(
        [seed, list(KINDS).index(kind), list(SPLIT_DIRS).index(split), index]))


def write_set(root: Path, kind: str, seed: int, sprites, backgrounds, sizes: dict[str, int] | None = None) -> Path:
    """Every split of ``kind`` under ``root`` (``<split>/images/*.png``, ``<split>/labels/*.txt``) and its
    ``data.yaml``; returns the yaml's path."""
    from PIL import Image

    from lib.data.labels import format_label
    from lib.data.spec import write_data_yaml

    spec = KINDS[kind]
    sizes = sizes or spec["sizes"]
    for split, n in sizes.items():
        images, labels = root / SPLIT_DIRS[split] / "images", root / SPLIT_DIRS[split] / "labels"
        images.mkdir(parents=True)
        labels.mkdir(parents=True)
        for i in range(n):
            image, boxes, view = compose(sprites, backgrounds, frame_rng(seed, kind, split, i))
            name = f"{kind}-{split}-{i:05d}"
            Image.fromarray(image).save(images / f"{name}.png")
            (labels / f"{name}.txt").write_text(format_label(boxes, view, len(spec["views"]), "box") + "\n",
                                                encoding="utf-8")
    return write_data_yaml(root / "data.yaml", {k: f"{SPLIT_DIRS[k]}/images" for k in sizes},
                           spec["names"], spec["views"])


# ---- publishing -----------------------------------------------------------------------------------------------

def is_complete(folder: Path, marker: str) -> bool:
    """True when ``folder`` holds a ``COMPLETE`` marker with exactly ``marker``'s text."""
    path = Path(folder) / MARKER
    return path.is_file() and path.read_text(encoding="utf-8") == marker


def ensure_built(final: Path, marker: str, build) -> Path:
    """``final``, built by ``build(tmp_folder)`` unless it is complete for ``marker``.

    The build fills a temporary folder beside ``final``; the marker is written last, then the folder is
    renamed to ``final`` (a stale or half-made ``final`` is removed first). A failed build leaves nothing.
    When another process publishes the same set first, its copy is kept."""
    from lib.store.atomic import UMASK, write_text

    final = Path(final)
    if is_complete(final, marker):
        return final
    final.parent.mkdir(parents=True, exist_ok=True)
    tmp = Path(tempfile.mkdtemp(prefix=f".{final.name}.", suffix=".tmp", dir=final.parent))
    os.chmod(tmp, 0o777 & ~UMASK)  # mkdtemp makes 0700; the set gets the mode mkdir would give
    try:
        build(tmp)
        write_text(tmp / MARKER, marker)  # last: the folder is complete
        if final.exists() and not is_complete(final, marker):
            stale = final.with_name(f".{final.name}.stale-{os.getpid()}")
            os.rename(final, stale)
            shutil.rmtree(stale)
        try:
            os.rename(tmp, final)
        except OSError:  # another process published it meanwhile
            if not is_complete(final, marker):
                raise
    finally:
        shutil.rmtree(tmp, ignore_errors=True)
    return final


def set_dir(kind: str, seed: int) -> Path:
    from lib.store.paths import data_root

    return data_root() / "bench-sets" / f"photo-{kind}-s{seed}"


def ensure_photo_set(kind: str, seed: int = 0) -> Path:
    """The ``data.yaml`` of the ``kind`` set for ``seed``, built first when missing (seconds; the first time
    also builds the bench venv, minutes). Raises ``ValueError`` for an unknown kind or a negative seed."""
    if kind not in KINDS:
        raise ValueError(f"unknown kind {kind!r}: expected one of {', '.join(KINDS)}")
    if seed < 0:
        raise ValueError(f"seed {seed}: expected a whole number >= 0")
    marker = json.dumps({"version": VERSION, "kind": kind, "seed": seed, "frame": FRAME, **KINDS[kind]})

    def build(tmp: Path) -> None:
        from .bench_env import ensure_venv, stock_env

        npz = tmp / "sources.npz"
        done = subprocess.run([str(ensure_venv()), str(Path(__file__).resolve()), "--extract", kind, "--out", npz],
                              env=stock_env(), capture_output=True, text=True)
        if done.returncode:
            last = (done.stderr.strip().splitlines() or ["no output"])[-1]
            raise RuntimeError(f"extracting the {kind} photographs in the bench venv failed: {last}")
        sprites, backgrounds = load_sources(npz, len(KINDS[kind]["names"]), len(KINDS[kind]["views"]))
        npz.unlink()
        write_set(tmp, kind, seed, sprites, backgrounds)

    return ensure_built(set_dir(kind, seed), marker, build) / "data.yaml"


# ---- command line --------------------------------------------------------------------------------------------

def main(argv: list[str] | None = None) -> int:
    p = argparse.ArgumentParser(prog="python -m benchmarks.photo_set", description=__doc__.split("\n")[0])
    p.add_argument("--kind", choices=list(KINDS), default="target")
    p.add_argument("--seed", type=int, default=0, help="seed of every frame (>= 0)")
    p.add_argument("--extract", choices=list(KINDS), help=argparse.SUPPRESS)  # the bench venv's step
    p.add_argument("--out", type=Path, help=argparse.SUPPRESS)
    args = p.parse_args(argv)
    if args.extract:
        save_sources(args.out, *extract(args.extract))
        return 0
    try:
        print(ensure_photo_set(args.kind, args.seed))
    except (ValueError, RuntimeError) as e:
        print(f"error: {e}", file=sys.stderr)
        return 2
    return 0


if __name__ == "__main__":
    sys.exit(main())

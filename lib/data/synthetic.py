"""The synthetic colour-Doppler echo benchmark: configuration, plan, files on disk.

Real frames cannot be shipped, so the default data set is generated here with
the real data's shape: the same split sizes (834/208/306), the same label
format (both variants), the real class and view counts, the real data's
class x view rates (``coupling_table``; a knob weakens or strengthens them), and
the real file names ``<patient>-<clip>.mp4-<frame>.png``. Splits take whole
patients (so whole clips: no leakage) and are stratified by view and jet class
(``stratify.GroupDealer``), so train, val and test hold the same mix.

Generation is two steps. ``plan`` draws, from the config alone, every patient,
clip, view and jet (cheap, so tests can check marginals on the full-size plan);
``render_frame`` draws the pixels of one planned frame from its own seed. The
same config always gives byte-identical files. ``ensure_synthetic`` caches a
generated set under ``data/synthetic-<hash of the config>/`` and trusts it only
when its ``COMPLETE`` marker exists (written last, then the folder is renamed
into place atomically).
"""
from __future__ import annotations

import hashlib
import json
import os
import shutil
from functools import lru_cache
from dataclasses import asdict, dataclass
from pathlib import Path
from typing import NamedTuple

import numpy as np
from PIL import Image

from .labels import format_label
from .spec import write_data_yaml
from .coupling import REAL_CLASS_VIEW_COUNTS, coupling_table
from .stratify import GroupDealer, strata_counts
from .synthetic_anatomy import CLASSES, JET_SHAPE, VALVES, VIEWS, Geometry, Grid, anatomy, make_grid, random_geometry, scan, sector_mask
from .synthetic_doppler import JetSpec, colour_box, colour_speckle, composite, flow_clutter, overlays, render_jet, soften

GENERATOR_VERSION = 2  # bump when drawing code changes, so cached sets are regenerated
SPLIT_DIRS = {"train": "train", "val": "valid", "test": "test"}  # data.yaml key -> folder (real layout)

# Jet size per class in template units (sector radius = 1): (length, width). Chosen so the
# label boxes match the real data's statistics (mean area ~0.034 of the image).
JET_SIZE = {"AR": (0.25, 0.24), "MR": (0.22, 0.21), "PR": (0.28, 0.20), "TR": (0.25, 0.21)}


@dataclass(frozen=True)
class SyntheticConfig:
    """Every knob of the benchmark. The hash of this object names the cache folder."""

    seed: int = 0                      # master seed; everything below is drawn from it
    n_train: int = 834                 # images per split (the real data's sizes)
    n_val: int = 208
    n_test: int = 306
    width: int = 192                   # frame size in pixels (landscape, like the real frames)
    height: int = 144
    frames_per_clip: int = 4           # frames of a clip share view, anatomy and jet (cardiac phase varies)
    max_clips_per_patient: int = 2     # each patient has 1..this many clips (views may differ)
    # Relative view frequencies, in VIEWS order (PSAX, PLAX, A4C): the real counts 217/612/517.
    view_freq: tuple[float, ...] = (217, 612, 517)
    # Relative class frequencies, in CLASSES order (AR, MR, PR, TR): the real label counts.
    class_freq: tuple[float, ...] = (426, 407, 104, 409)
    # Class x view counts that set the coupling (rows CLASSES, columns VIEWS); see coupling_table.
    class_view_counts: tuple[tuple[float, ...], ...] = REAL_CLASS_VIEW_COUNTS
    # Strength of the view-jet coupling: 0 = view independent of class, 1 = the real rates, > 1 stronger.
    view_coupling: float = 1.0
    p_no_jet: float = 0.03             # a frame without any jet (e.g. the wrong cardiac phase)
    p_two_jets: float = 0.04           # a clip with a second jet of another class
    box_label_fraction: float = 0.2    # share of label files in the converted box variant (rest polygons)
    # Difficulty knobs.
    speckle: float = 1.0               # speckle strength (0 = smooth tissue, 1 = fully developed)
    anatomy_jitter: float = 1.8        # per-clip variation of probe placement and shape (view difficulty)
    jet_opacity: float = 0.7           # jet contrast: colour alpha of jets (lower = fainter over the grey image)
    jet_size: float = 1.0              # scale of jet length and width (smaller = harder, smaller boxes)
    clutter: float = 1.3               # normal (non-jet) colour flow in chambers inside the colour box
    colour_noise: float = 0.04        # fraction of colour-box blocks with random colour speckle
    view_label_noise: float = 0.0      # probability a frame's view label is replaced by another view

    def __post_init__(self):
        if len(self.view_freq) != len(VIEWS) or len(self.class_freq) != len(CLASSES):
            raise ValueError(f"view_freq needs one weight per view {VIEWS} and class_freq one per class {CLASSES}")
        table = np.asarray(self.class_view_counts, dtype=float)
        if table.shape != (len(CLASSES), len(VIEWS)) or (table < 0).any():
            raise ValueError(f"class_view_counts needs {len(CLASSES)} rows {CLASSES} of {len(VIEWS)} "
                             f"non-negative counts {VIEWS}; got shape {table.shape}")
        if min(self.view_freq) < 0 or min(self.class_freq) < 0 or sum(self.view_freq) <= 0 or sum(self.class_freq) <= 0:
            raise ValueError("view_freq and class_freq need non-negative weights with a positive sum")
        if not self.view_coupling >= 0:
            raise ValueError(f"view_coupling={self.view_coupling}: expected >= 0 (0 independent, 1 real rates)")
        if min(self.n_train, self.n_val, self.n_test) < 0 or self.frames_per_clip < 1:
            raise ValueError("split sizes must be >= 0 and frames_per_clip >= 1")

    def class_view_table(self) -> np.ndarray:
        """P(class, view) of a jet, shape (len(CLASSES), len(VIEWS)); see ``coupling_table``."""
        return coupling_table(self.class_view_counts, self.class_freq, self.view_freq, self.view_coupling)

    def short_hash(self) -> str:
        blob = json.dumps({"version": GENERATOR_VERSION, **asdict(self)}, sort_keys=True)
        return hashlib.sha1(blob.encode()).hexdigest()[:10]

    def split_sizes(self) -> dict[str, int]:
        return {"train": self.n_train, "val": self.n_val, "test": self.n_test}


class ClipPlan(NamedTuple):
    patient: str
    clip: int
    view: int
    jets: tuple[JetSpec, ...]
    seed: int          # anatomy and probe placement of the clip


class FramePlan(NamedTuple):
    split: str
    name: str          # file stem: <patient>-<clip>.mp4-<frame>
    clip: ClipPlan
    jets: tuple[JetSpec, ...]   # the clip's jets visible in this frame
    view_label: int    # the written view label (the clip's view unless label noise)
    seed: int          # speckle, jet shape and noise of this frame


def _sample_jet(rng: np.random.Generator, view: int, cls: int, size: float) -> JetSpec:
    origin, direction = VALVES[(VIEWS[view], CLASSES[cls])]
    ang = np.arctan2(direction[1], direction[0]) + np.deg2rad(rng.normal(0, 10))
    length, width = JET_SIZE[CLASSES[cls]]
    fl, fw = JET_SHAPE.get((VIEWS[view], CLASSES[cls]), (1.0, 1.0))
    length, width = length * fl, width * fw
    return JetSpec(
        cls=cls,
        origin=(origin[0] + rng.normal(0, 0.012), origin[1] + rng.normal(0, 0.012)),
        direction=(float(np.cos(ang)), float(np.sin(ang))),
        length=length * size * float(np.exp(rng.normal(0, 0.3))),
        width=width * size * float(np.exp(rng.normal(0, 0.25))),
        bend=float(rng.normal(0, 0.15)),
        vmax=float(rng.uniform(1.2, 2.2)),
        turbulence=float(rng.uniform(0.3, 0.9)),
    )


def _draw_clip(rng: np.random.Generator, cfg: SyntheticConfig, joint: np.ndarray) -> tuple[int, tuple[int, ...]]:
    """The view and jet classes of one clip: (view, class) from ``joint``, maybe a second class of that view."""
    view, cls = divmod(int(rng.choice(joint.size, p=joint.T.ravel())), len(CLASSES))
    classes = [cls]
    cls_p = joint[:, view] / joint[:, view].sum()
    if rng.random() < cfg.p_two_jets and cls_p[cls] < 1:
        rest = cls_p.copy()
        rest[cls] = 0
        classes.append(int(rng.choice(len(CLASSES), p=rest / rest.sum())))
    return view, tuple(classes)


def plan(cfg: SyntheticConfig) -> list[FramePlan]:
    """Every frame of every split (train, val, test), drawn from the config alone.

    Patients (1..``max_clips_per_patient`` clips of ``frames_per_clip`` frames) are drawn one
    by one and dealt whole to a split by ``GroupDealer`` (stratified by view and jet class);
    the patient that fills a split is cut to fit, so split sizes are exact.
    """
    rng = np.random.default_rng([cfg.seed, 1])
    joint = cfg.class_view_table()
    nv, nc = len(VIEWS), len(CLASSES)
    names = list(cfg.split_sizes())
    dealer = GroupDealer(list(cfg.split_sizes().values()), nv * (nc + 1))
    frames, patient_no = [], 0
    while len(dealer.open):
        patient_no += 1
        patient = f"SYN{patient_no:04d}"
        clips = [_draw_clip(rng, cfg, joint) for _ in range(int(rng.integers(1, cfg.max_clips_per_patient + 1)))]
        counts = sum(strata_counts(v, cl, nv, nc, cfg.frames_per_clip) for v, cl in clips)
        k = dealer.choose(counts)
        room = min(dealer.room(k), len(clips) * cfg.frames_per_clip)
        dealer.add(k, counts, room)  # a cut patient counts whole: its strata shares are close enough
        for clip_no, (view, classes) in enumerate(clips, start=1):
            if room == 0:
                break
            jets = tuple(_sample_jet(rng, view, c, cfg.jet_size) for c in classes)
            clip = ClipPlan(patient, clip_no, view, jets, int(rng.integers(2 ** 62)))
            frame_no, step = int(rng.integers(0, 30)), int(rng.integers(1, 4))
            for _ in range(min(room, cfg.frames_per_clip)):
                visible = () if rng.random() < cfg.p_no_jet else jets
                label = view
                if rng.random() < cfg.view_label_noise:
                    label = int(rng.choice([v for v in range(nv) if v != view]))
                name = f"{patient}-{clip_no}.mp4-{frame_no}"
                frames.append(FramePlan(names[k], name, clip, visible, label, int(rng.integers(2 ** 62))))
                frame_no += step
                room -= 1
    return frames


class Scene(NamedTuple):
    """What all frames of a clip share: probe geometry, pixel grid, anatomy, fan."""

    geometry: Geometry
    grid: Grid
    reflectivity: np.ndarray
    blood: np.ndarray
    sector: np.ndarray


@lru_cache(maxsize=4)
def clip_scene(seed: int, view: str, width: int, height: int, jitter: float) -> Scene:
    """A pure function of its arguments, cached: the frames of a clip are rendered one after another."""
    rng = np.random.default_rng(seed)
    g = random_geometry(rng, view, width, height, jitter)
    grid = make_grid(g, rng, warp=0.012 * jitter)
    refl, blood = anatomy(view, g, grid, rng)
    sector = sector_mask(grid, g).astype(np.float32)
    scene = Scene(g, grid, refl, blood * sector, sector)
    for a in (*grid[:4], refl, scene.blood, sector):
        a.flags.writeable = False  # shared between frames: never modified in place
    return scene


def render_frame(fp: FramePlan, cfg: SyntheticConfig) -> tuple[np.ndarray, np.ndarray]:
    """Pixels (H, W, 3) uint8 and boxes (n, 5) [cls, cx, cy, w, h] normalised, of one planned frame."""
    g, grid, refl, blood, sector = clip_scene(fp.clip.seed, VIEWS[fp.clip.view], cfg.width, cfg.height,
                                              cfg.anatomy_jitter)
    rng = np.random.default_rng(fp.seed)
    phase = rng.uniform(0.92, 1.08)  # cardiac phase: jets grow and shrink within a clip
    gray = scan(refl, g, grid, rng, cfg.speckle) * sector
    drawn = [(j, render_jet(j, g, rng, sector, size=phase * rng.uniform(0.9, 1.1))) for j in fp.jets]
    kept = [j for j, lay in drawn if lay.box is not None]  # a jet clipped away by the fan is not labelled
    layers = [lay for j, lay in drawn if lay.box is not None]
    roi, outline = colour_box(g, grid.r, grid.theta, rng, [lay.box for lay in layers])
    roi *= sector
    rgb = np.repeat(gray[..., None], 3, axis=-1)
    rgb = composite(rgb, flow_clutter(rng, blood, roi, cfg.clutter))
    rgb = composite(rgb, colour_speckle(rng, roi, cfg.colour_noise))
    for lay in layers:
        rgb = composite(rgb, lay, cfg.jet_opacity)
    rgb = soften(rgb)
    rgb = overlays(rgb, g, rng, outline * sector, outline_strength=0.5 if rng.random() < 0.8 else 0.0)
    img = np.clip(np.round(rgb * 255), 0, 255).astype(np.uint8)
    boxes = [[j.cls, (x0 + x1) / 2 / cfg.width, (y0 + y1) / 2 / cfg.height, (x1 - x0) / cfg.width,
              (y1 - y0) / cfg.height] for j, (x0, y0, x1, y1) in zip(kept, [lay.box for lay in layers])]
    return img, np.asarray(boxes, dtype=np.float64).reshape(-1, 5)


def _box_variant(i: int, fraction: float) -> bool:
    """Evenly spread, deterministic: exactly floor(n * fraction) of the first n files."""
    return int((i + 1) * fraction + 1e-9) != int(i * fraction + 1e-9)


def generate(cfg: SyntheticConfig, out_dir: str | Path) -> Path:
    """Write the whole benchmark into ``out_dir`` (real layout); return its ``data.yaml``."""
    out = Path(out_dir)
    for folder in SPLIT_DIRS.values():
        (out / folder / "images").mkdir(parents=True, exist_ok=True)
        (out / folder / "labels").mkdir(parents=True, exist_ok=True)
    for i, fp in enumerate(plan(cfg)):
        img, boxes = render_frame(fp, cfg)
        folder = out / SPLIT_DIRS[fp.split]
        # compress_level 3: smaller and twice as fast as the default 6 on these frames
        Image.fromarray(img).save(folder / "images" / f"{fp.name}.png", compress_level=3)
        variant = "box" if _box_variant(i, cfg.box_label_fraction) else "polygon"
        text = format_label(boxes, fp.view_label, len(VIEWS), variant)
        (folder / "labels" / f"{fp.name}.txt").write_text(text, encoding="utf-8")
    splits = {k: f"{v}/images" for k, v in SPLIT_DIRS.items()}
    return write_data_yaml(out / "data.yaml", splits, CLASSES, VIEWS, root=".")


def ensure_synthetic(cfg: SyntheticConfig = SyntheticConfig(), root: str | Path = "data") -> Path:
    """Return the ``data.yaml`` of the cached set for ``cfg`` under ``root``, generating it if needed.

    A set is trusted only if its ``COMPLETE`` marker (the config as JSON) exists; it is
    generated in a temporary sibling folder and renamed into place, so a killed run
    leaves at most a stale temporary folder, never a half set under the real name.
    """
    root = Path(root)
    final = root / f"synthetic-{cfg.short_hash()}"
    if (final / "COMPLETE").is_file():
        return final / "data.yaml"
    root.mkdir(parents=True, exist_ok=True)
    tmp = root / f".tmp-{final.name}-{os.getpid()}"
    shutil.rmtree(tmp, ignore_errors=True)
    generate(cfg, tmp)
    marker = {"generator_version": GENERATOR_VERSION, "config": asdict(cfg)}
    (tmp / "COMPLETE").write_text(json.dumps(marker, indent=1, sort_keys=True), encoding="utf-8")
    if final.exists() and not (final / "COMPLETE").is_file():
        shutil.rmtree(final)  # a half set from before markers existed, or foreign junk
    try:
        os.replace(tmp, final)
    except OSError:
        if not (final / "COMPLETE").is_file():  # someone else won the race only if theirs is complete
            raise
        shutil.rmtree(tmp, ignore_errors=True)
    return final / "data.yaml"

"""Grey-scale (B-mode) echo frames of the three views, drawn with numpy masks.

Every frame is a fan-shaped sector with its apex at the top centre. Anatomy is
described per view in *template* units (sector radius = 1, x to the right,
y = depth from the apex) as blood pools (chambers, vessels) with a myocardial
wall around them, valve leaflets, and a few bright bands (pericardium). A
per-clip ``Geometry`` (probe placement: scale, shift, rotation; sector size)
and a smooth warp make each patient different, so the view is learnable from
the layout but not from fixed pixels. Speckle is multiplicative Rayleigh noise,
smoothed laterally as in real scanners, with depth attenuation and near-field
clutter.
"""
from __future__ import annotations

import math
from typing import NamedTuple

import numpy as np
from PIL import Image

VIEWS = ("PSAX", "PLAX", "A4C")
CLASSES = ("AR", "MR", "PR", "TR")


class Ellipse(NamedTuple):
    cx: float
    cy: float
    rx: float
    ry: float
    angle: float = 0.0  # degrees, clockwise on screen (y points down)


class Arc(NamedTuple):
    """A curved band (the RVOT of PSAX): radii ``r0..r1`` around a centre, angles ``a0..a1`` (deg)."""

    cx: float
    cy: float
    r0: float
    r1: float
    a0: float
    a1: float


class Segment(NamedTuple):
    x0: float
    y0: float
    x1: float
    y1: float


class Template(NamedTuple):
    depth: float      # extra depth the probe puts the heart at (template units), so jets sit mid-sector
    bands: tuple      # (Ellipse, intensity): bright tissue painted first (pericardium, chest wall)
    chambers: tuple   # (Ellipse | Arc, wall factor): blood pools, each with a wall of that relative thickness
    valves: tuple     # Segment leaflets, painted last


# Valve orifices (template units) and the mean direction a regurgitant jet leaves them,
# per (view, jet class). Pairs that real anatomy shows poorly (PR in PLAX, AR in A4C) use
# the nearest plausible place (RVOT, five-chamber-like LVOT) and are rare in the config.
# JET_SHAPE (below) rescales (length, width) where a view shows a jet differently.
VALVES: dict[tuple[str, str], tuple[tuple[float, float], tuple[float, float]]] = {
    ("PLAX", "AR"): ((0.10, 0.34), (-0.85, 0.45)),   # aortic valve -> LVOT, along the septum
    ("PLAX", "MR"): ((0.12, 0.47), (0.55, 0.85)),    # mitral coaptation -> LA
    ("PLAX", "PR"): ((0.24, 0.19), (-0.95, -0.05)),  # RVOT variant: pulmonic -> RV band
    ("PLAX", "TR"): ((-0.02, 0.22), (-0.8, 0.5)),    # RV inflow variant: tricuspid -> RA side
    ("A4C", "AR"): ((0.02, 0.50), (0.3, -0.95)),     # five-chamber-like: aortic -> LV
    ("A4C", "MR"): ((0.15, 0.52), (0.15, 1.0)),      # mitral -> LA (deep)
    ("A4C", "PR"): ((-0.17, 0.22), (0.1, 1.0)),      # rare; RV outflow region
    ("A4C", "TR"): ((-0.15, 0.50), (-0.15, 1.0)),    # tricuspid -> RA (deep)
    ("PSAX", "AR"): ((0.0, 0.45), (0.0, -1.0)),      # en face inside the aortic ring
    ("PSAX", "MR"): ((0.02, 0.58), (0.0, 1.0)),      # under the aortic root -> LA
    ("PSAX", "PR"): ((0.18, 0.31), (-0.55, -0.35)),  # pulmonic valve -> back into RVOT
    ("PSAX", "TR"): ((-0.20, 0.47), (-0.45, 0.9)),   # tricuspid -> RA
}

JET_SHAPE: dict[tuple[str, str], tuple[float, float]] = {("PSAX", "AR"): (0.6, 1.1)}  # en face: short, round

TEMPLATES: dict[str, Template] = {
    # Parasternal long axis: RV band near the apex, septum, long LV below it,
    # aortic root (right) above the LA, descending aorta behind the LA.
    "PLAX": Template(
        depth=0.08,
        bands=((Ellipse(-0.05, 0.70, 0.70, 0.030, -6), 0.7), (Ellipse(0.0, 0.09, 0.75, 0.025, -5), 0.3)),
        chambers=((Ellipse(-0.06, 0.19, 0.42, 0.050, -8), 0.8),      # RV
                  (Ellipse(-0.16, 0.45, 0.34, 0.100, -9), 1.5),      # LV
                  (Ellipse(0.06, 0.38, 0.10, 0.050, -30), 1.0),      # LVOT
                  (Ellipse(0.28, 0.32, 0.18, 0.056, -10), 0.8),      # aortic root
                  (Ellipse(0.27, 0.55, 0.14, 0.100, 5), 0.6),        # LA
                  (Ellipse(0.18, 0.79, 0.035, 0.032, 0), 0.5)),      # descending aorta
        valves=(Segment(0.10, 0.40, 0.03, 0.50),              # anterior mitral leaflet
                Segment(0.16, 0.55, 0.09, 0.52),              # posterior mitral leaflet
                Segment(0.10, 0.30, 0.15, 0.32), Segment(0.10, 0.36, 0.15, 0.34)),  # aortic cusps
    ),
    # Apical four-chamber: ventricles near the apex (LV right, RV left), septum
    # vertical, AV valves across the middle, atria deep.
    "A4C": Template(
        depth=0.0,
        bands=((Ellipse(0.0, 0.86, 0.55, 0.035, 0), 0.6),),
        chambers=((Ellipse(0.11, 0.30, 0.115, 0.24, -12), 1.5),      # LV
                  (Ellipse(-0.14, 0.32, 0.095, 0.20, 16), 0.9),      # RV
                  (Ellipse(0.15, 0.66, 0.125, 0.105, 0), 0.6),       # LA
                  (Ellipse(-0.15, 0.65, 0.115, 0.105, 0), 0.6)),     # RA
        valves=(Segment(0.04, 0.52, 0.10, 0.58), Segment(0.26, 0.52, 0.20, 0.59),    # mitral
                Segment(-0.05, 0.50, -0.11, 0.56), Segment(-0.25, 0.50, -0.19, 0.57)),  # tricuspid
    ),
    # Parasternal short axis at the aortic valve: the aortic ring in the centre,
    # RVOT curving over it from the tricuspid (left) to the pulmonic valve (right),
    # pulmonary artery going down on the right, LA below, RA left.
    "PSAX": Template(
        depth=0.10,
        bands=((Ellipse(0.0, 0.86, 0.50, 0.035, 0), 0.6),),
        chambers=((Ellipse(0.0, 0.45, 0.095, 0.095, 0), 1.0),        # aortic root (ring)
                  (Arc(0.0, 0.45, 0.16, 0.27, 195, 330), 0.9),       # RV / RVOT
                  (Ellipse(0.30, 0.47, 0.055, 0.14, -25), 0.7),      # pulmonary artery
                  (Ellipse(0.02, 0.68, 0.19, 0.085, 0), 0.6),        # LA
                  (Ellipse(-0.27, 0.60, 0.11, 0.11, 0), 0.6)),       # RA
        valves=(Segment(0.0, 0.45, 0.0, 0.36), Segment(0.0, 0.45, 0.078, 0.495),
                Segment(0.0, 0.45, -0.078, 0.495),            # aortic cusps (Mercedes sign)
                Segment(-0.17, 0.45, -0.22, 0.51),            # tricuspid leaflet
                Segment(0.16, 0.31, 0.22, 0.34)),             # pulmonic leaflet
    ),
}


class Geometry(NamedTuple):
    """Sector and probe placement of one clip; maps template units to pixels."""

    width: int
    height: int
    apex_y: float      # pixels (may be slightly above the frame)
    radius: float      # sector radius in pixels
    half_angle: float  # radians
    scale: float       # anatomy scale (1 = template size)
    rot: float         # anatomy rotation, radians
    shift: tuple[float, float]  # anatomy shift, template units
    wall: float        # myocardial wall thickness, template units
    gain: float        # overall brightness

    def to_pixels(self, x: float, y: float) -> tuple[float, float]:
        c, s = math.cos(self.rot), math.sin(self.rot)
        px = self.scale * (c * x - s * y) + self.shift[0]
        py = self.scale * (s * x + c * y) + self.shift[1]
        return self.width / 2 + px * self.radius, self.apex_y + py * self.radius

    def direction_to_pixels(self, dx: float, dy: float) -> tuple[float, float]:
        c, s = math.cos(self.rot), math.sin(self.rot)
        return c * dx - s * dy, s * dx + c * dy


def random_geometry(rng: np.random.Generator, view: str, width: int, height: int, jitter: float) -> Geometry:
    """Per-clip probe placement; ``jitter`` scales how much anatomy moves between clips."""
    apex_y = height * rng.uniform(-0.01, 0.04)
    return Geometry(
        width, height, apex_y,
        radius=(height - apex_y) * rng.uniform(0.92, 0.99),
        half_angle=math.radians(rng.uniform(35, 44)),
        scale=float(np.clip(1 + 0.08 * jitter * rng.standard_normal(), 0.8, 1.2)),
        rot=math.radians(6 * jitter * rng.standard_normal()),
        shift=(0.03 * jitter * rng.standard_normal(), TEMPLATES[view].depth + 0.025 * jitter * rng.standard_normal()),
        wall=rng.uniform(0.022, 0.042),
        gain=rng.uniform(0.8, 1.2),
    )


def blur(a: np.ndarray, sx: float, sy: float) -> np.ndarray:
    """Separable Gaussian blur of the first two axes (y, x) with sigmas in pixels; reflect padding."""
    out = a
    for axis, sigma in ((1, sx), (0, sy)):
        if sigma <= 0:
            continue
        r = int(np.ceil(2.5 * sigma))
        k = np.exp(-0.5 * (np.arange(-r, r + 1) / sigma) ** 2).astype(np.float32)
        k /= k.sum()
        pad = [(r, r) if ax == axis else (0, 0) for ax in range(out.ndim)]
        p = np.pad(out, pad, mode="reflect")
        n = out.shape[axis]
        acc = np.zeros_like(out)
        for i in range(2 * r + 1):
            acc += k[i] * (p[:, i:i + n] if axis == 1 else p[i:i + n])
        out = acc
    return out


def smooth_noise(rng: np.random.Generator, shape: tuple[int, int], cells: tuple[int, int]) -> np.ndarray:
    """Low-frequency noise (std ~1): a coarse random grid upsampled bicubically."""
    coarse = rng.standard_normal((cells[1], cells[0])).astype(np.float32)
    return np.asarray(Image.fromarray(coarse).resize((shape[1], shape[0]), Image.BICUBIC))


class Grid(NamedTuple):
    """Per-pixel coordinates of one frame: polar (sector) and template (anatomy)."""

    r: np.ndarray      # distance from the apex, sector radii
    theta: np.ndarray  # angle from the vertical, radians (positive to the right)
    qx: np.ndarray     # template coordinates (anatomy frame, with warp)
    qy: np.ndarray
    edge: float        # one pixel in template units (soft mask width)


def make_grid(g: Geometry, rng: np.random.Generator, warp: float) -> Grid:
    ys, xs = np.mgrid[0:g.height, 0:g.width].astype(np.float32)
    px, py = (xs + 0.5 - g.width / 2) / g.radius, (ys + 0.5 - g.apex_y) / g.radius
    r, theta = np.hypot(px, py), np.arctan2(px, py)
    c, s = math.cos(-g.rot), math.sin(-g.rot)
    ux, uy = px - g.shift[0], py - g.shift[1]
    qx, qy = (c * ux - s * uy) / g.scale, (s * ux + c * uy) / g.scale
    if warp > 0:  # smooth deformation: chambers are not perfect ellipses
        qx = qx + warp * smooth_noise(rng, qx.shape, (5, 4))
        qy = qy + warp * smooth_noise(rng, qy.shape, (5, 4))
    return Grid(r, theta, qx, qy, 1.0 / (g.radius * g.scale))


def _soft(dist: np.ndarray, edge: float) -> np.ndarray:
    """Signed distance (negative inside) -> coverage in [0, 1] over ~1.5 pixels."""
    return np.clip(0.5 - dist / (1.5 * edge), 0.0, 1.0)


def shape_mask(shape, grid: Grid, grow: float = 0.0) -> np.ndarray:
    """Soft coverage of an Ellipse or Arc, optionally grown by ``grow`` template units."""
    if isinstance(shape, Ellipse):
        a = math.radians(shape.angle)
        dx, dy = grid.qx - shape.cx, grid.qy - shape.cy
        c, s = math.cos(a), math.sin(a)
        lx, ly = c * dx + s * dy, -s * dx + c * dy
        rx, ry = shape.rx + grow, shape.ry + grow
        e = np.sqrt((lx / rx) ** 2 + (ly / ry) ** 2)
        return _soft((e - 1) * min(rx, ry), grid.edge)
    if isinstance(shape, Arc):
        dx, dy = grid.qx - shape.cx, grid.qy - shape.cy
        rho = np.hypot(dx, dy)
        ang = np.degrees(np.arctan2(dy, dx)) % 360
        span = (shape.a1 - shape.a0) % 360
        rel = (ang - shape.a0) % 360
        outside = np.where(rel <= span, 0.0, np.minimum(rel - span, 360 - rel))  # degrees past an end
        radial = np.maximum(shape.r0 - grow - rho, rho - shape.r1 - grow)
        ends = np.deg2rad(outside) * rho - grow
        return _soft(np.maximum(radial, ends), grid.edge)
    raise TypeError(f"unknown shape {shape!r}")


def segment_mask(seg: Segment, grid: Grid, half_width: float) -> np.ndarray:
    ax, ay, bx, by = seg
    vx, vy = bx - ax, by - ay
    t = np.clip(((grid.qx - ax) * vx + (grid.qy - ay) * vy) / (vx * vx + vy * vy), 0, 1)
    d = np.hypot(grid.qx - (ax + t * vx), grid.qy - (ay + t * vy))
    return _soft(d - half_width, grid.edge)


def sector_mask(grid: Grid, g: Geometry) -> np.ndarray:
    """Soft fan: inside the radius and the opening angle."""
    edge = 1.0 / g.radius
    ang = (np.abs(grid.theta) - g.half_angle) * grid.r
    return _soft(np.maximum(grid.r - 1.0, ang), edge) * (grid.r > 0.015)


def anatomy(view: str, g: Geometry, grid: Grid, rng: np.random.Generator) -> tuple[np.ndarray, np.ndarray]:
    """Reflectivity of the clip's anatomy (before speckle) and the blood-pool coverage."""
    t = TEMPLATES[view]
    h, w = grid.r.shape
    refl = 0.045 * np.exp(0.5 * smooth_noise(rng, (h, w), (8, 6)))  # background tissue, patchy
    for band, value in t.bands:
        m = shape_mask(band, grid)
        refl += (value - refl) * m
    wall = rng.uniform(0.22, 0.36) * (1 + 0.25 * smooth_noise(rng, (h, w), (12, 9)))
    for ch, factor in t.chambers:                                    # myocardium around each pool
        m = shape_mask(ch, grid, grow=g.wall * factor)
        refl += (wall - refl) * m
    blood = np.zeros((h, w), np.float32)
    for ch, _ in t.chambers:
        blood = np.maximum(blood, shape_mask(ch, grid))
    refl = refl * (1 - blood) + 0.006 * blood
    for seg in t.valves:
        m = segment_mask(seg, grid, half_width=0.005 + 0.25 * g.wall * rng.uniform(0.3, 0.6))
        refl += (0.55 - refl) * m
    return np.maximum(refl, 0).astype(np.float32), blood


def scan(refl: np.ndarray, g: Geometry, grid: Grid, rng: np.random.Generator, speckle: float) -> np.ndarray:
    """One frame's grey image in [0, 1]: speckle, attenuation, near-field clutter, compression."""
    h, w = refl.shape
    # Speckle: |complex Gaussian| smoothed (grains wider than tall), mean 1.
    re_im = blur(rng.standard_normal((h, w, 2), dtype=np.float32), 1.3, 0.75)
    sp = np.hypot(re_im[..., 0], re_im[..., 1])
    sp = sp ** 0.7  # softer than raw Rayleigh: scanners smooth and compress
    sp /= sp.mean()
    env = np.maximum(refl * (1 + speckle * (sp - 1)), 0)
    env *= np.exp(-1.0 * grid.r) * 1.7                               # depth attenuation (after TGC)
    env *= np.clip(1 - 0.4 * (np.abs(grid.theta) / g.half_angle) ** 4, 0, 1)  # weaker beams at the fan edges
    env += 0.25 * np.exp(-grid.r / 0.06) * sp                        # near-field clutter at the apex
    img = (env * g.gain * rng.uniform(0.95, 1.05)) ** 0.65           # compression of the dynamic range
    return np.clip(img, 0, 1).astype(np.float32)

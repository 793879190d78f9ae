"""Colour-Doppler layer: regurgitant jets, the colour box, flow clutter and screen overlays.

Colour follows the BART convention of echo machines: flow towards the probe is
red (yellow when fast), away is blue (cyan when fast). A regurgitant jet is fast
(above the Nyquist limit), so its velocity wraps around (aliasing) and its
turbulence adds the variance colour (green): the typical mosaic near the
orifice. Colour is estimated on coarser blocks than the grey image, so it looks
blocky. Colour only appears inside the Doppler box (a polar window in the fan).
The label of a jet is the tight bounding box of its plume.
"""
from __future__ import annotations

from typing import NamedTuple

import numpy as np

from .synthetic_anatomy import Geometry, blur, smooth_noise

BLOCK = 2  # colour-Doppler pixels are BLOCK x BLOCK grey pixels


class JetSpec(NamedTuple):
    """One clip's jet in template units; each frame rescales it a little (cardiac phase)."""

    cls: int
    origin: tuple[float, float]
    direction: tuple[float, float]  # unit vector, template frame
    length: float
    width: float
    bend: float        # curvature of eccentric (wall-hugging) jets
    vmax: float        # peak velocity in Nyquist units (> 1 aliases)
    turbulence: float  # variance (green mosaic) strength


class JetLayer(NamedTuple):
    alpha: np.ndarray     # coverage in [0, 1]
    velocity: np.ndarray  # signed, towards the probe positive, Nyquist units (already wrapped)
    variance: np.ndarray  # [0, 1]
    box: tuple[float, float, float, float] | None  # x0, y0, x1, y1 in pixels (tight), None if invisible


def _blocks(rng: np.random.Generator, shape: tuple[int, int], uniform: bool = False) -> np.ndarray:
    """White noise (standard normal, or uniform in [0, 1)) constant on BLOCK x BLOCK cells."""
    h, w = shape
    cells = (-(-h // BLOCK), -(-w // BLOCK))
    n = (rng.random(cells) if uniform else rng.standard_normal(cells)).astype(np.float32)
    return np.repeat(np.repeat(n, BLOCK, 0), BLOCK, 1)[:h, :w]


def wrap(v: np.ndarray) -> np.ndarray:
    """Aliasing: velocities beyond +-1 (Nyquist) reappear with the opposite sign."""
    return (v + 1) % 2 - 1


def doppler_rgb(v: np.ndarray, var: np.ndarray) -> np.ndarray:
    """BART colour map with variance: v in [-1, 1] (towards > 0), var in [0, 1] -> RGB in [0, 1]."""
    a = np.abs(v)
    towards = v > 0
    r = np.where(towards, 0.35 + 0.65 * np.minimum(1, a * 1.7), np.clip((a - 0.8) * 2, 0, 1))
    g = np.where(towards, np.clip((a - 0.45) * 1.8, 0, 1), np.clip((a - 0.4) * 1.6, 0, 1))
    b = np.where(towards, 0.0, 0.4 + 0.6 * np.minimum(1, a * 1.7))
    g = np.clip(g + 0.85 * var, 0, 1)
    return np.stack([r, g, b], axis=-1)


def render_jet(jet: JetSpec, g: Geometry, rng: np.random.Generator, sector: np.ndarray,
               size: float = 1.0) -> JetLayer:
    """One plume: narrow at the orifice (vena contracta), widest ~60% along, rounded tip.

    Computed only in a window around the orifice that holds the whole plume (speed).
    """
    h, w = sector.shape
    ox, oy = g.to_pixels(*jet.origin)
    ux, uy = g.direction_to_pixels(*jet.direction)
    length = jet.length * size * g.radius * g.scale
    width = jet.width * size * g.radius * g.scale
    reach = length * (1 + abs(jet.bend)) + width
    x0, x1 = max(0, int(ox - reach)), min(w, int(ox + reach) + 2)
    y0, y1 = max(0, int(oy - reach)), min(h, int(oy + reach) + 2)
    alpha_full, vel_full, var_full = (np.zeros((h, w), np.float32) for _ in range(3))
    blocks_a, blocks_b = _blocks(rng, (h, w)), _blocks(rng, (h, w))  # on the image's colour-block grid
    if x1 - x0 < 2 or y1 - y0 < 2:
        return JetLayer(alpha_full, vel_full, var_full, None)
    ys, xs = np.mgrid[y0:y1, x0:x1].astype(np.float32) + 0.5
    dx, dy = xs - ox, ys - oy
    t = dx * ux + dy * uy
    s = -dx * uy + dy * ux - jet.bend * t ** 2 / length
    u = t / length
    uc = np.clip(u, 0, 1)
    neck = 0.22
    profile = (neck + (1 - neck) * np.sqrt(uc)) * np.sqrt(np.clip(1 - uc ** 2, 0, 1))
    cells = (max(2, (x1 - x0) // 19), max(2, (y1 - y0) // 18))
    half = 0.5 * width * profile * (1 + 0.22 * smooth_noise(rng, xs.shape, cells))
    dist = np.where(u >= 0, np.abs(s) - half, np.hypot(dx, dy) - neck * width / 2)
    alpha = np.clip(0.5 - dist, 0, 1) * (u <= 1.0) * (sector[y0:y1, x0:x1] > 0.5)
    # Velocity: fastest at the orifice and on the axis; sign from the axial component.
    rel = np.clip(np.abs(s) / np.maximum(half, 1e-3), 0, 1)
    speed = jet.vmax * (1 - 0.65 * uc) * (1 - 0.45 * rel ** 2)
    rx, ry = xs - g.width / 2, ys - g.apex_y
    cos_axial = (ux * rx + uy * ry) / np.maximum(np.hypot(rx, ry), 1e-3)  # > 0: away from the probe
    towards = -np.sign(cos_axial) * (0.45 + 0.55 * np.abs(cos_axial)) * speed
    a, b = blocks_a[y0:y1, x0:x1], blocks_b[y0:y1, x0:x1]
    variance = np.clip(jet.turbulence * np.exp(-3.0 * uc) * (0.6 + 0.5 * np.abs(a)), 0, 1)
    velocity = wrap(towards + 0.9 * variance * b)  # turbulence scatters velocities: the mosaic
    alpha_full[y0:y1, x0:x1], vel_full[y0:y1, x0:x1], var_full[y0:y1, x0:x1] = alpha, velocity, variance
    ys_in, xs_in = np.nonzero(alpha_full > 0.5)
    box = (xs_in.min(), ys_in.min(), xs_in.max() + 1.0, ys_in.max() + 1.0) if len(xs_in) >= 6 else None
    return JetLayer(alpha_full, vel_full, var_full, box)


def colour_box(g: Geometry, r: np.ndarray, theta: np.ndarray, rng: np.random.Generator,
               boxes: list[tuple[float, float, float, float]]) -> tuple[np.ndarray, np.ndarray]:
    """The Doppler window (polar box) around the jets, or a random central one; (mask, outline)."""
    if boxes:
        pts = [(x, y) for x0, y0, x1, y1 in boxes for x in (x0, x1) for y in (y0, y1)]
        px = np.array([p[0] for p in pts]) - g.width / 2
        py = np.array([p[1] for p in pts]) - g.apex_y
        rr, tt = np.hypot(px, py) / g.radius, np.arctan2(px, py)
        r0, r1 = rr.min() - rng.uniform(0.03, 0.12), rr.max() + rng.uniform(0.03, 0.12)
        t0, t1 = tt.min() - rng.uniform(0.05, 0.2), tt.max() + rng.uniform(0.05, 0.2)
    else:
        rc, tc = rng.uniform(0.35, 0.65), rng.uniform(-0.2, 0.2)
        r0, r1, t0, t1 = rc - 0.18, rc + 0.18, tc - 0.3, tc + 0.3
    lim = g.half_angle - 0.02
    r0, r1 = max(r0, 0.08), min(r1, 0.97)
    t0, t1 = max(t0, -lim), min(t1, lim)
    inside = (r >= r0) & (r <= r1) & (theta >= t0) & (theta <= t1)
    px_r, px_t = 1.0 / g.radius, 1.0 / (np.maximum(r, 1e-3) * g.radius)  # one pixel in r and theta
    inner = (r >= r0 + px_r) & (r <= r1 - px_r) & (theta >= t0 + px_t) & (theta <= t1 - px_t)
    return inside.astype(np.float32), (inside & ~inner).astype(np.float32)


def flow_clutter(rng: np.random.Generator, blood: np.ndarray, roi: np.ndarray, amount: float) -> JetLayer:
    """Normal, slow, laminar flow in the chambers: dull red/blue patches that are not jets."""
    h, w = blood.shape
    n = smooth_noise(rng, (h, w), (7, 5))
    alpha = np.clip((np.abs(n) - 1.1) * 3, 0, 1) * (blood > 0.5) * roi * min(1.0, amount)
    v = np.clip(0.3 * n * max(1.0, amount), -0.95, 0.95)  # beyond 1 the patches also get faster (brighter)
    return JetLayer(alpha.astype(np.float32), v.astype(np.float32), np.zeros_like(v), None)


def colour_speckle(rng: np.random.Generator, roi: np.ndarray, density: float) -> JetLayer:
    """Sparse random colour blocks in the Doppler box (noise, flash artefacts)."""
    h, w = roi.shape
    hit = (_blocks(rng, (h, w), uniform=True) < density) * roi
    v = np.clip(0.5 * _blocks(rng, (h, w)), -1, 1)
    return JetLayer(hit.astype(np.float32), v.astype(np.float32), np.zeros_like(v), None)


def composite(rgb: np.ndarray, layer: JetLayer, opacity: float = 1.0) -> np.ndarray:
    """Paint a colour layer over ``rgb`` in place (colour has priority over grey, as on scanners)."""
    rows, cols = np.flatnonzero(layer.alpha.any(1)), np.flatnonzero(layer.alpha.any(0))
    if len(rows) == 0:
        return rgb
    win = np.s_[rows[0]:rows[-1] + 1, cols[0]:cols[-1] + 1]  # only where the layer has colour (speed)
    a = (layer.alpha[win] * opacity)[..., None]
    rgb[win] = rgb[win] * (1 - a) + doppler_rgb(layer.velocity[win], layer.variance[win]) * a
    return rgb


def overlays(rgb: np.ndarray, g: Geometry, rng: np.random.Generator, outline: np.ndarray,
             outline_strength: float) -> np.ndarray:
    """Screen furniture of a real frame: Doppler box outline, colour scale bar, depth dots, ECG."""
    h, w = rgb.shape[:2]
    rgb = rgb * (1 - outline_strength * outline[..., None]) + 0.75 * outline_strength * outline[..., None]
    if rng.random() < 0.9:  # colour bar in the top-left corner: +Nyquist (red/yellow) on top
        y0, y1, x0 = int(0.08 * h), int(0.40 * h), int(0.03 * w)
        v = np.linspace(1, -1, y1 - y0, dtype=np.float32)[:, None]
        bar = doppler_rgb(np.repeat(v, 4, 1), np.zeros((y1 - y0, 4), np.float32))
        rgb[y0:y1, x0:x0 + 4] = bar
        rgb[(y0 + y1) // 2, x0 - 1:x0 + 5] = 0.8
    for d in (0.25, 0.5, 0.75):  # depth markers beside the right edge of the fan
        xd = int(round(g.width / 2 + np.sin(g.half_angle) * d * g.radius + 3))
        yd = int(round(g.apex_y + np.cos(g.half_angle) * d * g.radius))
        if 0 <= yd < h and 0 <= xd < w:
            rgb[yd, xd] = 0.9
    if rng.random() < 0.8:  # ECG trace along the bottom
        xs = np.arange(int(0.08 * w), int(0.92 * w))
        beat = rng.uniform(0.25, 0.4) * w
        phase = ((xs - rng.uniform(0, beat)) % beat) / beat
        qrs = np.where(np.abs(phase - 0.3) < 0.02, -6 * (1 - np.abs(phase - 0.3) / 0.02), 0)
        twave = -1.5 * np.exp(-((phase - 0.55) / 0.06) ** 2)
        ys = np.clip(np.round(0.94 * h + qrs + twave).astype(int), 0, h - 1)
        rgb[ys, xs] = (0.2, 0.85, 0.3)
    return rgb


def soften(rgb: np.ndarray) -> np.ndarray:
    """A whisper of blur so colour and grey edges are not aliased (frames are downsampled video)."""
    return blur(rgb.astype(np.float32), 0.45, 0.45)

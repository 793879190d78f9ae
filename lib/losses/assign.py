"""YOLOv5 target assignment (``ComputeLoss.build_targets``), kept apart from the loss terms.

A label box is matched to every anchor whose width and height ratios to it
are within ``anchor_t`` (4 by default), at every level. Besides the grid cell
holding the box centre, the two neighbouring cells nearest to the centre
also predict it (centre offsets in (-0.5, 1.5) are reachable by the decoder),
which triples the positives for small objects.
"""
from __future__ import annotations

from dataclasses import dataclass

import torch


@dataclass
class LevelTargets:
    """Positives of one pyramid level: where they sit and what they should predict."""

    image: torch.Tensor   # (n,) batch index
    anchor: torch.Tensor  # (n,) anchor index
    gj: torch.Tensor      # (n,) grid row
    gi: torch.Tensor      # (n,) grid column
    box: torch.Tensor     # (n, 4) target cx, cy (relative to the cell) and w, h, in grid units
    anchor_wh: torch.Tensor  # (n, 2) matched anchor, grid units
    cls: torch.Tensor     # (n,) class index


# centre cell, then left, up, right, down neighbours
_OFFSETS = torch.tensor([[0, 0], [1, 0], [0, 1], [-1, 0], [0, -1]], dtype=torch.float32)


def build_targets(grid_shapes: list[tuple[int, int]], anchors_grid: torch.Tensor, targets: torch.Tensor,
                  anchor_t: float = 4.0, g: float = 0.5) -> list[LevelTargets]:
    """Assign ``targets`` (nt, 6) [image, cls, cx, cy, w, h] (normalised) to anchors and cells.

    ``grid_shapes``: (ny, nx) per level. ``anchors_grid``: (nl, na, 2) anchors in grid units.
    """
    device = targets.device
    na = anchors_grid.shape[1]
    nt = targets.shape[0]
    ai = torch.arange(na, device=device, dtype=torch.float32).view(na, 1).repeat(1, nt)
    t_all = torch.cat((targets.repeat(na, 1, 1), ai[..., None]), 2)  # (na, nt, 7): ..., anchor
    off = _OFFSETS.to(device) * g
    out = []
    for level, (ny, nx) in enumerate(grid_shapes):
        anchors = anchors_grid[level]
        gain = torch.tensor([1, 1, nx, ny, nx, ny, 1], device=device, dtype=torch.float32)
        t = t_all * gain
        if nt:
            ratio = t[..., 4:6] / anchors[:, None]
            keep = torch.max(ratio, 1 / ratio).max(2)[0] < anchor_t
            t = t[keep]
            gxy = t[:, 2:4]
            gxi = torch.tensor([nx, ny], device=device) - gxy
            j, k = ((gxy % 1 < g) & (gxy > 1)).T
            l, m = ((gxi % 1 < g) & (gxi > 1)).T
            use = torch.stack((torch.ones_like(j), j, k, l, m))
            t = t.repeat((5, 1, 1))[use]
            offsets = (torch.zeros_like(gxy)[None] + off[:, None])[use]
        else:
            t = t_all[0]
            offsets = torch.zeros_like(t[:, 2:4])
        gxy, gwh = t[:, 2:4], t[:, 4:6]
        gij = (gxy - offsets).long()
        gi = gij[:, 0].clamp_(0, nx - 1)
        gj = gij[:, 1].clamp_(0, ny - 1)
        a = t[:, 6].long()
        out.append(LevelTargets(
            image=t[:, 0].long(), anchor=a, gj=gj, gi=gi,
            box=torch.cat((gxy - torch.stack((gi, gj), 1), gwh), 1),
            anchor_wh=anchors[a], cls=t[:, 1].long(),
        ))
    return out

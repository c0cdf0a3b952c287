"""sRGB <-> CIE Lab (D65) for colorization, and the quantized ab bins inside the sRGB gamut.

The conversions are kornia's (exact sRGB companding, D65 white; the round trip is within
1e-5 in float32, tested). Zhang et al. (2016) predict ab as one of the grid cells of size
``grid`` that real colours reach: :func:`in_gamut_ab_bins`.
"""

from __future__ import annotations

import functools

import kornia.color
import torch

L_MAX = 100.0  # L spans [0, 100]
AB_SCALE = 110.0  # |a|, |b| <= 110 covers sRGB (max ~ 108)


def rgb_to_lab(rgb: torch.Tensor) -> torch.Tensor:
    """Lab ``[B, 3, H, W]`` (L in [0, 100], a and b in about [-110, 110]) of sRGB in [0, 1]."""
    if rgb.ndim != 4 or rgb.shape[1] != 3:
        raise ValueError(f"rgb_to_lab expects RGB images [B, 3, H, W], got {list(rgb.shape)}")
    return kornia.color.rgb_to_lab(rgb.clamp(0.0, 1.0))


def lab_to_rgb(lab: torch.Tensor) -> torch.Tensor:
    """sRGB in [0, 1] ``[B, 3, H, W]`` of Lab (out-of-gamut colours are clipped)."""
    if lab.ndim != 4 or lab.shape[1] != 3:
        raise ValueError(f"lab_to_rgb expects Lab images [B, 3, H, W], got {list(lab.shape)}")
    return kornia.color.lab_to_rgb(lab, clip=True)


def _cube_faces(levels: int) -> torch.Tensor:
    """RGB colours ``[1, 3, 6 * levels^2, 1]`` on the six faces of the unit cube."""
    g = torch.linspace(0.0, 1.0, levels)
    u, v = (t.flatten() for t in torch.meshgrid(g, g, indexing="ij"))
    faces = []
    for axis in range(3):
        for value in (0.0, 1.0):
            cols = [u, v]
            cols.insert(axis, torch.full_like(u, value))
            faces.append(torch.stack(cols))
    return torch.cat(faces, dim=1)[None, :, :, None]


@functools.lru_cache(maxsize=4)
def in_gamut_ab_bins(grid: float = 10.0) -> torch.Tensor:
    """Centres ``[Q, 2]`` (a, b) of the ab grid cells (side ``grid``) that sRGB colours reach.

    The gamut's ab projection is that of its surface, i.e. of the RGB cube's faces, sampled at
    256 levels; a cell counts if a sample lies within ``TOL`` ab units of it, which covers the
    gaps between samples (adjacent samples are at most 1.1 apart). Q = 265 at grid 10 (the
    paper, with ImageNet's colours, keeps 313).
    """
    if grid <= 0:
        raise ValueError(f"ab grid must be > 0, got {grid}")
    tol = 1.2
    ab = kornia.color.rgb_to_lab(_cube_faces(256))[0, 1:, :, 0].t()  # [S, 2]
    offsets = torch.tensor([-tol, 0.0, tol])
    shifts = torch.cartesian_prod(offsets, offsets)  # [9, 2]
    cells = torch.round((ab[None] + shifts[:, None]) / grid).reshape(-1, 2).long()
    span = int(cells.abs().max())  # one integer key per cell, counted (faster than unique)
    side = 2 * span + 1
    counts = torch.bincount((cells[:, 0] + span) * side + cells[:, 1] + span)
    keys = torch.nonzero(counts).flatten()
    a, b = keys // side - span, keys % side - span
    return torch.stack([a, b], dim=1).float() * grid


def nearest_ab_bin(ab: torch.Tensor, bins: torch.Tensor) -> torch.Tensor:
    """Index ``[N]`` of the nearest bin centre (``bins`` ``[Q, 2]``) of each ab ``[N, 2]``."""
    return torch.cdist(ab, bins).argmin(dim=1)

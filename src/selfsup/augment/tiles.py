"""Tiles cut from a 3x3 grid with gaps and jitter, for jigsaw and relative-position tasks.

Each image is split into ``grid x grid`` cells of ``cell = size // grid`` pixels; a tile of
``tile`` pixels sits inside its cell at a random offset with at least ``ceil(gap / 2)``
pixels to every cell edge, so two tiles are always at least ``gap`` pixels apart and no
edge or texture continuation can be matched across them (Doersch et al. 2015; Noroozi &
Favaro 2016). All tiles of the batch come from one gather, with per-tile random offsets.
"""

from __future__ import annotations

import torch


def _device_of(generator: torch.Generator | None) -> torch.device:
    """Where random draws happen: on the generator's device (CPU without one)."""
    return generator.device if generator is not None else torch.device("cpu")


def tile_size(size: int, grid: int, gap: int, jitter: int) -> int:
    """The tile side left in a cell of ``size // grid`` px after ``gap`` and ``jitter``."""
    if grid < 2 or gap < 1 or jitter < 0:
        raise ValueError(
            f"tiles need grid >= 2, gap >= 1, jitter >= 0; got {grid}, {gap}, {jitter}"
        )
    tile = size // grid - 2 * ((gap + 1) // 2) - jitter
    if tile < 1:
        raise ValueError(f"no room for tiles: {size} px in a {grid}x{grid} grid, gap {gap}")
    return tile


def tile_corners(
    batch: int,
    size: int,
    grid: int = 3,
    gap: int = 2,
    jitter: int = 1,
    generator: torch.Generator | None = None,
    device: torch.device | str = "cpu",
) -> torch.Tensor:
    """Top-left corners ``[B, grid * grid, 2]`` (row, col; cells row-major) of every tile."""
    tile_size(size, grid, gap, jitter)
    cell, margin = size // grid, (gap + 1) // 2
    start = (size - grid * cell) // 2  # centre the grid when size is not a multiple
    idx = torch.arange(grid * grid)
    base = torch.stack([idx // grid, idx % grid], dim=1) * cell + start + margin  # [K, 2]
    gdev = _device_of(generator)
    offsets = torch.randint(
        0, jitter + 1, (batch, grid * grid, 2), generator=generator, device=gdev
    )
    return base.to(device)[None] + offsets.to(device)


def cut_tiles(images: torch.Tensor, corners: torch.Tensor, tile: int) -> torch.Tensor:
    """Tiles ``[B, K, C, tile, tile]`` of ``images`` ``[B, C, H, W]`` at ``corners`` [B, K, 2]."""
    b = corners.shape[0]
    span = torch.arange(tile, device=images.device)
    rows = (corners[..., 0, None] + span)[:, :, :, None]  # [B, K, t, 1]
    cols = (corners[..., 1, None] + span)[:, :, None, :]  # [B, K, 1, t]
    batch_idx = torch.arange(b, device=images.device).view(b, 1, 1, 1)
    # Advanced indices around a slice put their broadcast dims first: [B, K, t, t, C].
    return images[batch_idx, :, rows, cols].permute(0, 1, 4, 2, 3)


def jitter_tile_colours(
    tiles: torch.Tensor,
    strength: float = 0.2,
    drop_p: float = 0.3,
    generator: torch.Generator | None = None,
) -> torch.Tensor:
    """Per tile and channel random gain and shift (``strength``), and with ``drop_p`` two of
    the three channels replaced by noise: tiles can no longer be ordered by their colour
    statistics or chromatic aberration (tiles are normalised images, ``[..., C, t, t]``)."""
    shape = (*tiles.shape[:-2], 1, 1)
    dev, gdev = tiles.device, _device_of(generator)
    gain = 1.0 + strength * (2 * torch.rand(shape, generator=generator, device=gdev) - 1).to(dev)
    shift = strength * (2 * torch.rand(shape, generator=generator, device=gdev) - 1).to(dev)
    out = tiles * gain + shift
    if drop_p > 0 and tiles.shape[-3] == 3:
        drop = (torch.rand(shape[:-3], generator=generator, device=gdev) < drop_p).to(dev)
        keep = torch.randint(0, 3, shape[:-3], generator=generator, device=gdev).to(dev)
        dropped = torch.arange(3, device=dev) != keep[..., None]  # [..., 3]: two True
        mask = (drop[..., None] & dropped)[..., None, None]
        noise = torch.randn(out.shape, generator=generator, device=gdev).to(dev) * 0.1
        out = torch.where(mask, noise, out)
    return out

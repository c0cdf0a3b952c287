"""Square hole masks for inpainting (Pathak et al. 2016): central or randomly placed blocks."""

from __future__ import annotations

import math
from typing import Literal

import torch
import torch.nn.functional as F

HoleMode = Literal["center", "random"]


def hole_side(size: int, area: float) -> int:
    """The side of the square hole covering the fraction ``area`` of a ``size``^2 image."""
    if not 0.0 < area < 1.0:
        raise ValueError(f"hole area must be in (0, 1), got {area}")
    return max(1, min(size - 1, round(math.sqrt(area) * size)))


def square_hole_masks(
    batch: int,
    size: int,
    area: float,
    mode: HoleMode = "center",
    generator: torch.Generator | None = None,
    device: torch.device | str = "cpu",
) -> torch.Tensor:
    """Bool masks ``[B, 1, size, size]``, True inside each image's square hole.

    ``center``: the same centred square for every image (the paper's main setting);
    ``random``: a square of the same area at a uniformly drawn position per image.
    """
    if mode not in ("center", "random"):
        raise ValueError(f"hole mode must be 'center' or 'random', got {mode!r}")
    side = hole_side(size, area)
    if mode == "center":
        top = torch.full((batch,), (size - side) // 2, dtype=torch.long)
        left = top.clone()
    else:
        gdev = generator.device if generator is not None else torch.device("cpu")
        pos = torch.randint(0, size - side + 1, (2, batch), generator=generator, device=gdev)
        top, left = pos[0].cpu(), pos[1].cpu()
    grid = torch.arange(size)
    rows = (grid[None] >= top[:, None]) & (grid[None] < top[:, None] + side)  # [B, size]
    cols = (grid[None] >= left[:, None]) & (grid[None] < left[:, None] + side)
    return (rows[:, :, None] & cols[:, None, :]).unsqueeze(1).to(device)


def border_band(mask: torch.Tensor, width: int) -> torch.Tensor:
    """The ``width``-pixel band just outside each hole of ``mask`` ``[B, 1, H, W]`` (bool)."""
    if width <= 0:
        return torch.zeros_like(mask)
    grown = F.max_pool2d(mask.float(), 2 * width + 1, stride=1, padding=width) > 0
    return grown & ~mask

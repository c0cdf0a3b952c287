"""Random crop + flip of a whole uint8 image batch in one resampling: fine-tuning's view."""

from __future__ import annotations

import torch
import torch.nn.functional as F


@torch.no_grad()
def random_crop_flip(
    x: torch.Tensor, scale_min: float, flip: bool, generator: torch.Generator
) -> torch.Tensor:
    """Per-sample random square-aspect crop covering ``[scale_min, 1]`` of the area, resized
    back to the input size, and (with ``flip``) a horizontal flip half of the time.

    Takes and returns uint8 ``[B, C, H, W]`` so the method's deterministic eval view (which
    expects raw images) still does the resizing and normalisation afterwards.
    """
    if not 0 < scale_min <= 1:
        raise ValueError(f"crop scale_min must be in (0, 1], got {scale_min}")
    b = x.shape[0]
    dev = x.device
    side = (scale_min + (1 - scale_min) * torch.rand(b, generator=generator)).sqrt()  # of 1
    # Crop centre anywhere that keeps the crop inside the image (affine grid units: [-1, 1]).
    centre = (torch.rand(b, 2, generator=generator) * 2 - 1) * (1 - side[:, None])
    sign = torch.ones(b)
    if flip:
        sign = torch.where(torch.rand(b, generator=generator) < 0.5, -1.0, 1.0)
    theta = torch.zeros(b, 2, 3)
    theta[:, 0, 0] = side * sign
    theta[:, 1, 1] = side
    theta[:, :, 2] = centre
    grid = F.affine_grid(theta.to(dev), list(x.shape), align_corners=False)
    out = F.grid_sample(x.float(), grid, mode="bilinear", align_corners=False)
    return out.round_().clamp_(0, 255).to(torch.uint8)

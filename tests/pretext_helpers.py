"""Tiny fixed batches and a fixed-view recipe for overfitting the pretext methods."""

from __future__ import annotations

import torch
import torch.nn.functional as F

from selfsup.augment import ImageViews, ViewSpec
from selfsup.augment.image import CIFAR_MEAN, CIFAR_STD
from selfsup.backbones import create_backbone
from selfsup.methods import Method, create_method


def smooth_images(n: int = 8, size: int = 16, seed: int = 0, blocks: bool = False) -> torch.Tensor:
    """``n`` uint8 RGB images of ``size`` px: random 4x4 colour fields bilinearly enlarged, or
    with ``blocks`` 2x2 fields of flat colour (one per quarter of the image)."""
    gen = torch.Generator().manual_seed(seed)
    if blocks:
        low = torch.rand(n, 3, 2, 2, generator=gen)
        big = F.interpolate(low, size=size, mode="nearest")
    else:
        low = torch.rand(n, 3, 4, 4, generator=gen)
        big = F.interpolate(low, size=size, mode="bilinear", align_corners=False)
    return (big * 255).round().to(torch.uint8)


def identity_views(size: int) -> ImageViews:
    """One view that is the whole image, unchanged but for normalisation."""
    spec = ViewSpec(size=size, scale=(1.0, 1.0), ratio=(1.0, 1.0), flip_p=0.0, jitter_p=0.0)
    return ImageViews([spec], CIFAR_MEAN, CIFAR_STD)


def overfit(
    name: str,
    size: int,
    steps: int,
    lr: float,
    metric: str,
    stop_at: float | None = None,
    blocks: bool = False,
    **kwargs: object,
) -> list[float]:
    """Train method ``name`` on one fixed batch of 8 images with fixed random draws (the same
    generator seed every step); the per-step values of ``metric``, stopping early once it
    reaches ``stop_at``."""
    torch.manual_seed(0)
    method: Method = create_method(
        name, backbone=create_backbone("resnet_tiny"), augment=identity_views(size), **kwargs
    )
    opt = torch.optim.Adam(method.parameters(), lr=lr)
    batch = {"input": smooth_images(size=size, blocks=blocks), "label": torch.full((8,), -1)}
    values = []
    for _ in range(steps):
        out = method.training_step(batch, generator=torch.Generator().manual_seed(0))
        opt.zero_grad()
        out["loss"].backward()
        opt.step()
        values.append(float(out[metric].detach()))
        if stop_at is not None and values[-1] >= stop_at:
            break
    return values

"""A linearly separable toy image set for fine-tuning tests."""

from __future__ import annotations

import torch


def toy_set(
    n: int, seed: int, noise: float = 10.0, offset: float = 0.0
) -> tuple[torch.Tensor, torch.Tensor]:
    """``n`` uint8 8x8 images and labels: class 0 dark, class 1 bright (crops and flips keep
    the class); ``offset`` shifts every pixel (a marker for where images end up)."""
    gen = torch.Generator().manual_seed(seed)
    y = torch.arange(n) % 2
    base = torch.where(y == 1, 200.0, 50.0)[:, None, None, None] + offset
    x = base + noise * torch.randn(n, 3, 8, 8, generator=gen)
    return x.clamp(0, 255).to(torch.uint8), y


def scale(x: torch.Tensor) -> torch.Tensor:
    """uint8 pixels to [-1, 1]: the preprocess these tests hand to fine-tuning."""
    return x.float() / 127.5 - 1.0

"""Shared pieces of the redundancy-reduction losses (Barlow Twins, VICReg)."""

from __future__ import annotations

import torch


def off_diagonal(m: torch.Tensor) -> torch.Tensor:
    """The ``D * (D - 1)`` off-diagonal entries of a square ``[D, D]`` matrix, as a flat view.

    Dropping the last element and viewing as ``[D - 1, D + 1]`` puts every diagonal entry in
    column 0, so the rest is exactly the off-diagonal part, with no mask and no copy.
    """
    d = m.shape[0]
    if m.dim() != 2 or m.shape[1] != d:
        raise ValueError(f"off_diagonal expects a square [D, D] matrix, got {tuple(m.shape)}")
    return m.flatten()[:-1].view(d - 1, d + 1)[:, 1:].flatten()


def check_pair(name: str, z_a: torch.Tensor, z_b: torch.Tensor) -> None:
    """One-line ValueError unless ``z_a, z_b`` are floating ``[N, D]`` tensors of one shape."""
    if z_a.dim() != 2 or z_b.dim() != 2:
        raise ValueError(
            f"{name} expects 2-D [N, D] embeddings, got {tuple(z_a.shape)} and {tuple(z_b.shape)}"
        )
    if z_a.shape != z_b.shape:
        raise ValueError(
            f"{name} needs z_a and z_b of the same shape, got {tuple(z_a.shape)} and "
            f"{tuple(z_b.shape)}"
        )
    if z_a.shape[0] < 1 or z_a.shape[1] < 1:
        raise ValueError(f"{name} got an empty batch of shape {tuple(z_a.shape)}")
    if not (z_a.is_floating_point() and z_b.is_floating_point()):
        raise ValueError(
            f"{name} expects floating-point embeddings, got {z_a.dtype} and {z_b.dtype}"
        )

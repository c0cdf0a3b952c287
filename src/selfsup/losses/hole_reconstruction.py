"""The context encoder's reconstruction loss (Pathak et al. 2016): L2 inside the hole, and
optionally a band of context around it at a higher weight (the paper: 10x, 7 of 64 px), so
the prediction blends with its surroundings."""

from __future__ import annotations

import torch
from torch import nn


class HoleReconstructionLoss(nn.Module):
    """Weighted mean squared error over the hole (weight 1) and its border band.

    Args:
        border_weight: weight of the band pixels (ignored where there is no band).
    """

    def __init__(self, border_weight: float = 10.0) -> None:
        super().__init__()
        if border_weight < 0:
            raise ValueError(f"border_weight must be >= 0, got {border_weight}")
        self.border_weight = border_weight

    def forward(
        self, pred: torch.Tensor, target: torch.Tensor, hole: torch.Tensor, band: torch.Tensor
    ) -> torch.Tensor:
        """``pred``, ``target`` ``[B, C, H, W]``; ``hole``, ``band`` bool ``[B, 1, H, W]``."""
        if pred.shape != target.shape:
            raise ValueError(f"pred {list(pred.shape)} and target {list(target.shape)} differ")
        weight = hole.float() + self.border_weight * band.float()  # [B, 1, H, W]
        err = (pred.float() - target.float()).pow(2).mean(1, keepdim=True)  # [B, 1, H, W]
        return (weight * err).sum() / weight.sum().clamp_min(1.0)

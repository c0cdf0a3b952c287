"""MAE reconstruction loss: mean squared error on the masked patches only."""

from __future__ import annotations

import torch
from torch import nn


class MAELoss(nn.Module):
    """``mean over masked patches of mean over values of (pred - target)^2``.

    With ``norm_pix`` the target of each patch is standardised by its own mean and variance
    (He et al. 2021, table 1d: better representations). Visible patches never contribute.

    Args:
        norm_pix: standardise each target patch.
        eps: added to the patch variance before the square root.
    """

    def __init__(self, norm_pix: bool = True, eps: float = 1e-6) -> None:
        super().__init__()
        self.norm_pix = norm_pix
        self.eps = eps

    def target(self, patches: torch.Tensor) -> torch.Tensor:
        """The regression target for pixel patches ``[B, N, P]`` (normalised if ``norm_pix``)."""
        if not self.norm_pix:
            return patches
        mean = patches.mean(dim=-1, keepdim=True)
        var = patches.var(dim=-1, keepdim=True, unbiased=False)
        return (patches - mean) / (var + self.eps).sqrt()

    def to_pixels(self, pred: torch.Tensor, patches: torch.Tensor) -> torch.Tensor:
        """Predictions ``[B, N, P]`` in pixel (input) values: with ``norm_pix``, each patch's
        prediction un-standardised by that patch's own mean and std, as the MAE figures draw
        them (the inverse of :meth:`target`)."""
        if not self.norm_pix:
            return pred
        mean = patches.mean(dim=-1, keepdim=True)
        var = patches.var(dim=-1, keepdim=True, unbiased=False)
        return pred * (var + self.eps).sqrt() + mean

    def forward(
        self,
        pred: torch.Tensor,
        patches: torch.Tensor,
        mask: torch.Tensor,
        per_sample: bool = False,
    ) -> torch.Tensor:
        """Loss from predictions and pixel patches ``[B, N, P]`` and bool mask ``[B, N]``;
        ``per_sample``: ``[B]``, each image's mean over its own masked patches."""
        if pred.shape != patches.shape or pred.ndim != 3:
            raise ValueError(
                f"pred and patches must both be [B, N, P], got {list(pred.shape)} and "
                f"{list(patches.shape)}"
            )
        if mask.shape != pred.shape[:2] or mask.dtype != torch.bool:
            raise ValueError(
                f"mask must be bool [B, N] = {list(pred.shape[:2])}, got {mask.dtype} "
                f"{list(mask.shape)}"
            )
        per_patch = (pred - self.target(patches)).pow(2).mean(dim=-1)  # [B, N]
        weight = mask.to(per_patch.dtype)
        if per_sample:
            return (per_patch * weight).sum(1) / weight.sum(1).clamp_min(1.0)
        # Masked mean; clamp keeps an all-visible batch at 0 instead of NaN.
        return (per_patch * weight).sum() / weight.sum().clamp_min(1.0)

"""Colorization as classification over quantized ab bins (Zhang et al. 2016, eq. 2-4).

Targets are soft-encoded over the 5 nearest bins (Gaussian, sigma 5 ab units); each pixel's
cross-entropy is weighted by the rarity of its nearest bin, so desaturated colours do not win
by sheer frequency: ``w ∝ ((1 - lam) * p_smooth + lam / Q) ** -1``, scaled so that
``E_p_smooth[w] = 1``. The prior ``p`` is the running (EMA) histogram of the training
targets, smoothed with the same Gaussian over ab space (the paper uses ImageNet's histogram).
"""

from __future__ import annotations

import torch
import torch.nn.functional as F
from torch import nn


class RebalancedColorLoss(nn.Module):
    """Weighted soft cross-entropy over ab bins.

    Args:
        bins: bin centres ``[Q, 2]`` in ab units.
        rebalance: lam above (0.5 in the paper; 1 means no rebalancing).
        sigma: Gaussian width of the soft encoding and of the prior smoothing (paper: 5).
        neighbours: bins each target is spread over (paper: 5).
        prior_momentum: EMA factor of the prior's per-step update.
    """

    def __init__(
        self,
        bins: torch.Tensor,
        rebalance: float = 0.5,
        sigma: float = 5.0,
        neighbours: int = 5,
        prior_momentum: float = 0.99,
    ) -> None:
        super().__init__()
        if bins.ndim != 2 or bins.shape[1] != 2:
            raise ValueError(f"bins must be [Q, 2] ab centres, got {list(bins.shape)}")
        if not 0.0 <= rebalance <= 1.0 or not 0.0 <= prior_momentum < 1.0:
            raise ValueError("rebalance must be in [0, 1] and prior_momentum in [0, 1)")
        self.rebalance, self.sigma, self.momentum = rebalance, sigma, prior_momentum
        self.neighbours = min(neighbours, bins.shape[0])
        self.register_buffer("bins", bins.float(), persistent=False)
        smooth = torch.exp(-(torch.cdist(bins, bins) ** 2) / (2 * sigma**2))
        self.register_buffer("smoothing", smooth / smooth.sum(0, keepdim=True), persistent=False)
        # Saved with the run: the prior is learnt from the data seen so far.
        q = bins.shape[0]
        self.register_buffer("prior", torch.full((q,), 1.0 / q))
        self.bins: torch.Tensor
        self.smoothing: torch.Tensor
        self.prior: torch.Tensor

    def encode(self, ab: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
        """Soft targets ``[N, Q]`` and nearest bins ``[N]`` of ab values ``[N, 2]``."""
        dist = torch.cdist(ab, self.bins)  # [N, Q]
        near, idx = dist.topk(self.neighbours, dim=1, largest=False)  # [N, k]
        weights = torch.softmax(-(near**2) / (2 * self.sigma**2), dim=1)
        soft = torch.zeros_like(dist).scatter_(1, idx, weights)
        return soft, idx[:, 0]

    def class_weights(self) -> torch.Tensor:
        """Per-bin weights ``[Q]`` from the current prior (mean 1 under the smoothed prior)."""
        smoothed = self.smoothing @ self.prior
        q = self.prior.shape[0]
        w = 1.0 / ((1.0 - self.rebalance) * smoothed + self.rebalance / q)
        return w / (smoothed * w).sum()

    def forward(self, logits: torch.Tensor, ab: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
        """Loss and pixel accuracy (argmax = nearest bin) of logits ``[B, Q, H, W]`` against
        target ab ``[B, 2, H, W]``."""
        q = logits.shape[1]
        flat_logits = logits.permute(0, 2, 3, 1).reshape(-1, q)  # [N, Q]
        with torch.no_grad():
            soft, nearest = self.encode(ab.permute(0, 2, 3, 1).reshape(-1, 2).float())
            if self.training:
                seen = torch.bincount(nearest, minlength=q).float() / nearest.numel()
                self.prior.mul_(self.momentum).add_(seen, alpha=1.0 - self.momentum)
            w = self.class_weights()[nearest]  # [N]
        ce = -(soft * F.log_softmax(flat_logits.float(), dim=1)).sum(1)
        accuracy = (flat_logits.argmax(1) == nearest).float().mean()
        return (w * ce).mean(), accuracy

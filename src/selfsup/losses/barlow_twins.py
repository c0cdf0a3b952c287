"""Barlow Twins loss: push the cross-correlation of two views' embeddings to the identity."""

from __future__ import annotations

import torch
from torch import nn

from selfsup.losses.decorrelation import check_pair, off_diagonal
from selfsup.nn.gather import gather as gather_ranks
from selfsup.nn.gather import world_size


class BarlowTwinsLoss(nn.Module):
    """``Σ_i (1 - C_ii)² + λ Σ_{i≠j} C_ij²``, ``C`` the views' cross-correlation (Zbontar et al.).

    Each embedding dimension is standardised over the batch (zero mean, unit biased variance,
    like ``BatchNorm1d(affine=False)``), then ``C = z_aᵀ z_b / N`` is ``[D, D]``. With ``gather``
    on and several DDP ranks, the statistics and ``C`` use the GLOBAL batch, so every rank
    returns the loss one process would compute on the joined batch (and, since DDP averages
    gradients, the same gradients). The cost: each rank computes the full ``[D, D]`` product.

    Args:
        lambda_offdiag: weight λ of the redundancy (off-diagonal) term; the paper uses 5.1e-3
            for D = 8192 (about 1/D is a common rule for other sizes).
        gather: standardise and correlate over all ranks' samples (differentiably).
        eps: added to the variance before the square root, as BatchNorm does.
    """

    def __init__(
        self, lambda_offdiag: float = 5e-3, gather: bool = True, eps: float = 1e-5
    ) -> None:
        super().__init__()
        if not lambda_offdiag >= 0:
            raise ValueError(f"BarlowTwinsLoss lambda_offdiag must be >= 0, got {lambda_offdiag}")
        if not eps > 0:  # at eps = 0 a constant dimension would be divided by zero
            raise ValueError(f"BarlowTwinsLoss eps must be > 0, got {eps}")
        self.lambda_offdiag = float(lambda_offdiag)
        self.gather = gather
        self.eps = float(eps)

    def cross_correlation(self, z_a: torch.Tensor, z_b: torch.Tensor) -> torch.Tensor:
        """``C: [D, D]`` of ``z_a, z_b: [N, D]`` (row i of each is a view of sample i)."""
        check_pair("BarlowTwinsLoss", z_a, z_b)
        n, d = z_a.shape
        ranks = world_size() if self.gather else 1
        if n * ranks < 2:
            raise ValueError(
                "BarlowTwinsLoss needs at least 2 samples in the global batch to standardise, got 1"
            )
        # Standardising D=8192 columns and summing N products is fragile in half precision:
        # at least float32 here, even under autocast.
        with torch.autocast(device_type=z_a.device.type, enabled=False):
            both = torch.cat([z_a, z_b], dim=1)  # [N, 2D]: one collective for both views
            both = both.to(torch.promote_types(both.dtype, torch.float32))
            if ranks > 1:
                both = gather_ranks(both)  # [N * ranks, 2D]
            var, mean = torch.var_mean(both, dim=0, correction=0)  # [2D] each
            both = (both - mean) / torch.sqrt(var + self.eps)
            return both[:, :d].T @ both[:, d:] / both.shape[0]  # [D, D]

    def forward(self, z_a: torch.Tensor, z_b: torch.Tensor) -> torch.Tensor:
        """Scalar loss for embeddings ``z_a, z_b: [N, D]``."""
        c = self.cross_correlation(z_a, z_b)  # [D, D]
        invariance = (1 - c.diagonal()).pow(2).sum()
        redundancy = off_diagonal(c).pow(2).sum()
        return invariance + self.lambda_offdiag * redundancy

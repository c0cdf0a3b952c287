"""VICReg loss: invariance + variance + covariance regularisation (Bardes et al., 2022)."""

from __future__ import annotations

import torch
import torch.nn.functional as F
from torch import nn

from selfsup.losses.decorrelation import check_pair, off_diagonal
from selfsup.nn.gather import gather as gather_ranks
from selfsup.nn.gather import world_size


class VICRegLoss(nn.Module):
    """``sim_weight · s + var_weight · v + cov_weight · c`` for two views' embeddings.

    - invariance ``s``: mean squared error between paired embeddings (this rank's pairs).
    - variance ``v``: hinge ``max(0, 1 - sqrt(Var(z_j) + eps))`` per dimension j (unbiased
      variance), averaged over dimensions and over the two views.
    - covariance ``c``: sum of squared off-diagonal covariance entries divided by D, summed over
      the two views.

    The averaging of ``v`` and summing of ``c`` over views follow the authors' reference
    implementation, for which the paper's weights 25 / 25 / 1 were tuned. With ``gather`` on and
    several DDP ranks, ``v`` and ``c`` use the global batch, so the mean of the ranks' losses
    equals the loss of one process on the joined batch.

    Args:
        sim_weight / var_weight / cov_weight: the paper's λ, μ, ν.
        eps: added to the variance before the square root (keeps the gradient finite at 0).
        gather: compute variance and covariance over all ranks' samples (differentiably).
    """

    def __init__(
        self,
        sim_weight: float = 25.0,
        var_weight: float = 25.0,
        cov_weight: float = 1.0,
        eps: float = 1e-4,
        gather: bool = True,
    ) -> None:
        super().__init__()
        weights = {"sim_weight": sim_weight, "var_weight": var_weight, "cov_weight": cov_weight}
        for key, value in weights.items():
            if not value >= 0:
                raise ValueError(f"VICRegLoss {key} must be >= 0, got {value}")
        if not eps > 0:  # at eps = 0 a collapsed dimension's std has an infinite gradient
            raise ValueError(f"VICRegLoss eps must be > 0, got {eps}")
        self.sim_weight = float(sim_weight)
        self.var_weight = float(var_weight)
        self.cov_weight = float(cov_weight)
        self.eps = float(eps)
        self.gather = gather

    def terms(self, z_a: torch.Tensor, z_b: torch.Tensor) -> dict[str, torch.Tensor]:
        """The unweighted ``invariance``, ``variance`` and ``covariance`` terms (scalars)."""
        check_pair("VICRegLoss", z_a, z_b)
        n, d = z_a.shape
        ranks = world_size() if self.gather else 1
        if n * ranks < 2:
            raise ValueError(
                "VICRegLoss needs at least 2 samples in the global batch for a variance, got 1"
            )
        # Variances and [D, D] covariances are fragile in half precision: at least float32 here.
        dtype = torch.promote_types(z_a.dtype, torch.float32)
        with torch.autocast(device_type=z_a.device.type, enabled=False):
            z_a, z_b = z_a.to(dtype), z_b.to(dtype)
            invariance = F.mse_loss(z_a, z_b)
            both = torch.cat([z_a, z_b], dim=1)  # [N, 2D]: one collective for both views
            if ranks > 1:
                both = gather_ranks(both)  # [N * ranks, 2D]
            both = both - both.mean(dim=0)
            std = torch.sqrt(both.var(dim=0) + self.eps)  # [2D], unbiased variance
            variance = F.relu(1 - std).mean()  # = mean over views of each view's mean over D
            covariance = _covariance_penalty(both[:, :d]) + _covariance_penalty(both[:, d:])
        return {"invariance": invariance, "variance": variance, "covariance": covariance}

    def weighted_sum(self, terms: dict[str, torch.Tensor]) -> torch.Tensor:
        """The loss from :meth:`terms`' output (lets a caller log the terms without recomputing)."""
        return (
            self.sim_weight * terms["invariance"]
            + self.var_weight * terms["variance"]
            + self.cov_weight * terms["covariance"]
        )

    def forward(self, z_a: torch.Tensor, z_b: torch.Tensor) -> torch.Tensor:
        """Scalar loss for embeddings ``z_a, z_b: [N, D]`` (row i of each: views of sample i)."""
        return self.weighted_sum(self.terms(z_a, z_b))


def _covariance_penalty(centred: torch.Tensor) -> torch.Tensor:
    """Squared off-diagonal covariance of a centred ``[N, D]`` batch, summed, divided by D."""
    n, d = centred.shape
    cov = centred.T @ centred / (n - 1)  # [D, D], unbiased
    return off_diagonal(cov).pow(2).sum() / d

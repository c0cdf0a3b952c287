"""KoLeo regulariser (Sablayrolles et al., 2019; used by DINOv2): spread features uniformly."""

from __future__ import annotations

import torch
import torch.nn.functional as F
from torch import nn


class KoLeoLoss(nn.Module):
    """``-mean_i log(d_i + eps)``, ``d_i`` = distance of L2-normalised row i to its nearest
    other row in the batch (the Kozachenko-Leonenko entropy estimator, up to constants).

    Pushing nearest neighbours apart makes the features spread over the sphere. Rows are
    compared within this rank's batch only, as in DINOv2.

    Args:
        eps: added to distances so duplicate rows give a finite (large) loss.
    """

    def __init__(self, eps: float = 1e-8) -> None:
        super().__init__()
        if not eps > 0:
            raise ValueError(f"KoLeoLoss eps must be > 0, got {eps}")
        self.eps = float(eps)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        """Loss of features ``x [B, D]`` (B >= 2)."""
        if x.ndim != 2 or x.shape[0] < 2:
            raise ValueError(f"KoLeoLoss expects features [B >= 2, D], got {tuple(x.shape)}")
        z = F.normalize(x.float(), dim=1)  # [B, D]
        with torch.no_grad():  # neighbour choice is discrete: find it without autograd
            sim = z @ z.T  # [B, B]
            sim.fill_diagonal_(-2.0)  # below any cosine: a row is never its own neighbour
            nearest = sim.argmax(dim=1)  # [B]
        dist = (z - z[nearest]).norm(dim=1)  # [B], differentiable w.r.t. both rows
        return -torch.log(dist + self.eps).mean()

"""Negative cosine similarity: the loss of BYOL and SimSiam.

Stop-gradient convention: the loss does not detach anything. The caller passes the target
already detached (SimSiam's ``z.detach()``) or computed under ``torch.no_grad()`` (BYOL's
target network), so which side receives gradients is visible at the call site.

BYOL writes its loss as the normalised MSE ``||p/|p| - z/|z|||^2 = 2 - 2 cos(p, z)``: that is
``2 + 2 * NegativeCosineSimilarity()(p, z)``, so one class serves both methods.
"""

from __future__ import annotations

import torch
import torch.nn.functional as F
from torch import nn


class NegativeCosineSimilarity(nn.Module):
    """``-mean_i cos(prediction_i, target_i)`` for ``[N, D]`` inputs; lies in ``[-1, 1]``.

    Args:
        eps: floor on each vector's norm (as in ``F.cosine_similarity``), so a zero vector
            gives a finite loss.
    """

    def __init__(self, eps: float = 1e-8) -> None:
        super().__init__()
        if not eps > 0:
            raise ValueError(f"NegativeCosineSimilarity eps must be > 0, got {eps}")
        self.eps = float(eps)

    def forward(self, prediction: torch.Tensor, target: torch.Tensor) -> torch.Tensor:
        """Loss for rows of ``prediction`` matched with rows of ``target`` (detach it yourself)."""
        if prediction.dim() != 2 or prediction.shape != target.shape:
            raise ValueError(
                "NegativeCosineSimilarity expects two [N, D] tensors of one shape, got "
                f"{tuple(prediction.shape)} and {tuple(target.shape)}"
            )
        if prediction.shape[0] < 1:
            raise ValueError("NegativeCosineSimilarity got an empty batch")
        return -F.cosine_similarity(prediction, target, dim=1, eps=self.eps).mean()  # scalar

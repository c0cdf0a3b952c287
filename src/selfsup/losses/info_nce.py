"""InfoNCE with an explicit positive per query and negatives from a queue or from the batch."""

from __future__ import annotations

import torch
import torch.nn.functional as F
from torch import nn

from selfsup.nn.gather import gather as gather_ranks
from selfsup.nn.gather import rank, world_size


class InfoNCELoss(nn.Module):
    """MoCo's contrastive loss: query i must pick key i among its candidates.

    With ``negatives [K, D]`` (a memory queue) the candidates of query i are key i and the K
    negatives. With ``negatives=None`` they are every key in the global batch (all ranks' keys
    when ``gather`` is on; gradients reach the other ranks' keys): key i is the positive, the
    other keys are negatives. All vectors are L2-normalised here. Nothing is detached: MoCo's keys
    come from a momentum encoder under ``torch.no_grad()``.

    Args:
        temperature: divides the cosine similarities; must be > 0 (MoCo v2: 0.2).
        gather: with in-batch negatives, use the other DDP ranks' keys too.
    """

    def __init__(self, temperature: float = 0.2, gather: bool = True) -> None:
        super().__init__()
        if not temperature > 0:
            raise ValueError(f"InfoNCELoss temperature must be > 0, got {temperature}")
        self.temperature = float(temperature)
        self.gather = gather

    def forward(
        self, query: torch.Tensor, key: torch.Tensor, negatives: torch.Tensor | None = None
    ) -> torch.Tensor:
        """Mean loss over the N local queries ``query, key: [N, D]``; ``negatives: [K, D]``."""
        self._check_inputs(query, key, negatives)
        q = F.normalize(query, dim=1)  # [N, D]
        k = F.normalize(key, dim=1)  # [N, D]
        if negatives is not None:
            pos = (q * k).sum(dim=1, keepdim=True)  # [N, 1]
            neg = q @ F.normalize(negatives, dim=1).T  # [N, K]
            logits = torch.cat([pos, neg], dim=1) / self.temperature  # [N, 1 + K]
            target = torch.zeros(q.shape[0], dtype=torch.long, device=q.device)  # column 0
            return F.cross_entropy(logits, target)
        ranks = world_size() if self.gather else 1
        if q.shape[0] * ranks < 2:  # the key alone: a loss of 0 that trains nothing
            raise ValueError(
                "InfoNCELoss without a queue needs at least 2 samples in the global batch to "
                "have negatives, got 1"
            )
        keys = gather_ranks(k) if ranks > 1 else k  # [N * ranks, D]
        logits = q @ keys.T / self.temperature  # [N, N * ranks]
        offset = q.shape[0] * rank() if ranks > 1 else 0
        target = offset + torch.arange(q.shape[0], device=q.device)  # [N], this rank's keys
        return F.cross_entropy(logits, target)

    @staticmethod
    def _check_inputs(q: torch.Tensor, k: torch.Tensor, negatives: torch.Tensor | None) -> None:
        if q.dim() != 2 or q.shape != k.shape:
            raise ValueError(
                "InfoNCELoss expects query and key of one shape [N, D], got "
                f"{tuple(q.shape)} and {tuple(k.shape)}"
            )
        if q.shape[0] < 1 or q.shape[1] < 1:
            raise ValueError(f"InfoNCELoss got an empty batch of shape {tuple(q.shape)}")
        if negatives is not None and (negatives.dim() != 2 or negatives.shape[1] != q.shape[1]):
            raise ValueError(
                f"InfoNCELoss expects negatives of shape [K, {q.shape[1]}], "
                f"got {tuple(negatives.shape)}"
            )

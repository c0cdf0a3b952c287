"""NT-Xent: the normalised-temperature cross-entropy of SimCLR over 2N views."""

from __future__ import annotations

import torch
import torch.nn.functional as F
from torch import nn

from selfsup.nn.gather import gather as gather_ranks
from selfsup.nn.gather import rank, world_size


class NTXentLoss(nn.Module):
    """SimCLR's contrastive loss for two batches of paired embeddings.

    Each of the 2N local views is an anchor whose positive is the other view of the same sample;
    every other view in the global batch (all ranks' views when ``gather`` is on and the process
    group has several ranks) is a negative. Returns the mean over local anchors, so under DDP the
    average of the ranks' losses equals the loss of one process on the joined batch.

    Args:
        temperature: divides the cosine similarities; must be > 0.
        gather: use the other ranks' views as extra negatives (differentiably).
    """

    def __init__(self, temperature: float = 0.5, gather: bool = True) -> None:
        super().__init__()
        if not temperature > 0:
            raise ValueError(f"NTXentLoss temperature must be > 0, got {temperature}")
        self.temperature = float(temperature)
        self.gather = gather

    def forward(self, z_a: torch.Tensor, z_b: torch.Tensor) -> torch.Tensor:
        """Loss for embeddings ``z_a, z_b: [N, D]`` where row i of each is a view of sample i."""
        self._check_inputs(z_a, z_b)
        n = z_a.shape[0]
        ranks = world_size() if self.gather else 1
        if n * ranks < 2:
            raise ValueError(
                "NTXentLoss needs at least 2 samples in the global batch to have negatives, got 1"
            )

        anchors = F.normalize(torch.cat([z_a, z_b]), dim=1)  # [2N, D], rows: all a, then all b
        # One collective for both views; rank r's anchors are rows r*2N .. (r+1)*2N - 1.
        candidates = gather_ranks(anchors) if ranks > 1 else anchors  # [2N*ranks, D]
        offset = 2 * n * rank() if ranks > 1 else 0

        logits = (anchors @ candidates.T).div_(self.temperature)  # [2N, 2N*ranks], in place
        # Remove each anchor's similarity with itself: entries (i, offset + i).
        logits.diagonal(offset=offset).fill_(float("-inf"))

        local = torch.arange(2 * n, device=z_a.device)  # [2N]
        positives = offset + (local + n) % (2 * n)  # [2N], a_i <-> b_i
        return F.cross_entropy(logits, positives)  # scalar, mean over the 2N local anchors

    @staticmethod
    def _check_inputs(z_a: torch.Tensor, z_b: torch.Tensor) -> None:
        if z_a.dim() != 2 or z_b.dim() != 2:
            raise ValueError(
                f"NTXentLoss expects 2-D [N, D] embeddings, got {tuple(z_a.shape)} and "
                f"{tuple(z_b.shape)}"
            )
        if z_a.shape != z_b.shape:
            raise ValueError(
                f"NTXentLoss needs z_a and z_b of the same shape, got {tuple(z_a.shape)} and "
                f"{tuple(z_b.shape)}"
            )
        if z_a.shape[0] < 1 or z_a.shape[1] < 1:
            raise ValueError(f"NTXentLoss got an empty batch of shape {tuple(z_a.shape)}")
        if not (z_a.is_floating_point() and z_b.is_floating_point()):
            raise ValueError(
                f"NTXentLoss expects floating-point embeddings, got {z_a.dtype} and {z_b.dtype}"
            )

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

    def forward(
        self, z_a: torch.Tensor, z_b: torch.Tensor, *more: torch.Tensor, per_sample: bool = False
    ) -> torch.Tensor:
        """Loss for embeddings ``z_a, z_b, ...: [N, D]`` where row i of each is a view of sample i.

        With more than two views (multi-crop), every view is an anchor whose positives are the
        other views of its sample: the loss is its mean log-likelihood of each positive against
        all other views. Two views give SimCLR's loss exactly. ``per_sample`` returns ``[N]``:
        each sample's mean over its views as anchors (their mean is the loss).
        """
        views = (z_a, z_b, *more)
        for other in views[1:]:
            self._check_inputs(z_a, other)
        n, v = z_a.shape[0], len(views)
        ranks = world_size() if self.gather else 1
        if n * ranks < 2:
            raise ValueError(
                "NTXentLoss needs at least 2 samples in the global batch to have negatives, got 1"
            )

        anchors = F.normalize(torch.cat(views), dim=1)  # [V*N, D], rows: all a, then all b, ...
        # One collective for all views; rank r's anchors are rows r*V*N .. (r+1)*V*N - 1.
        candidates = gather_ranks(anchors) if ranks > 1 else anchors  # [V*N*ranks, D]
        offset = v * n * rank() if ranks > 1 else 0

        logits = (anchors @ candidates.T).div_(self.temperature)  # [V*N, V*N*ranks], in place
        # Remove each anchor's similarity with itself: entries (i, offset + i).
        logits.diagonal(offset=offset).fill_(float("-inf"))

        local = torch.arange(v * n, device=z_a.device)  # [V*N]
        if v == 2:
            positives = offset + (local + n) % (2 * n)  # [2N], a_i <-> b_i
            if not per_sample:
                return F.cross_entropy(logits, positives)  # scalar, mean over 2N local anchors
            return F.cross_entropy(logits, positives, reduction="none").view(2, n).mean(0)
        shifts = torch.arange(1, v, device=z_a.device) * n  # the V-1 other views of a sample
        positives = offset + (local[:, None] + shifts) % (v * n)  # [V*N, V-1]
        log_prob = logits.log_softmax(dim=1).gather(1, positives)
        if per_sample:
            return -log_prob.mean(1).view(v, n).mean(0)
        return -log_prob.mean()

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

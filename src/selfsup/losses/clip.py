"""CLIP's symmetric InfoNCE (Radford et al., 2021): pair i of modality a must pick pair i of
modality b among every b in the global batch, and the other way round."""

from __future__ import annotations

import dataclasses

import torch
import torch.nn.functional as F
from torch import nn

from selfsup.nn.gather import gather as gather_ranks
from selfsup.nn.gather import rank, world_size

MAX_LOGIT_SCALE = 100.0
"""CLIP clips its learned logit scale (1 / temperature) at 100 to keep training stable."""


@dataclasses.dataclass(frozen=True)
class ClipTerms:
    """``loss``: the mean of ``sample_loss`` ``[N]`` (per local pair: the mean of its a->b
    and b->a cross-entropies); ``accuracy``: share of a->b rows whose top match is right."""

    loss: torch.Tensor
    sample_loss: torch.Tensor
    accuracy: torch.Tensor


class ClipLoss(nn.Module):
    """Symmetric cross-entropy over cosine similarities times ``logit_scale``.

    Negatives are every other pair of the global batch: with ``gather`` on, other DDP ranks'
    embeddings are gathered with gradients (:func:`selfsup.nn.gather.gather`), so one step on
    2 ranks of N pairs equals one step on a single process of 2N pairs.
    """

    def __init__(self, gather: bool = True) -> None:
        super().__init__()
        self.gather = gather

    def forward(self, z_a: torch.Tensor, z_b: torch.Tensor, logit_scale: torch.Tensor) -> ClipTerms:
        """``z_a, z_b``: ``[N, D]`` projections of the N local pairs; ``logit_scale``: a scalar
        (already clamped to at most :data:`MAX_LOGIT_SCALE` by the caller)."""
        if z_a.dim() != 2 or z_a.shape != z_b.shape or z_a.shape[0] < 1:
            raise ValueError(
                f"ClipLoss expects two non-empty [N, D] of one shape, got "
                f"{tuple(z_a.shape)} and {tuple(z_b.shape)}"
            )
        a = F.normalize(z_a, dim=1)  # [N, D]
        b = F.normalize(z_b, dim=1)  # [N, D]
        ranks = world_size() if self.gather else 1
        if a.shape[0] * ranks < 2:  # one pair: a loss of 0 that trains nothing
            raise ValueError(
                "ClipLoss needs at least 2 pairs in the global batch to have negatives, got 1"
            )
        all_a = gather_ranks(a) if ranks > 1 else a  # [N * ranks, D]
        all_b = gather_ranks(b) if ranks > 1 else b
        offset = a.shape[0] * rank() if ranks > 1 else 0
        target = offset + torch.arange(a.shape[0], device=a.device)  # [N]
        logits_ab = logit_scale * a @ all_b.T  # [N, N * ranks]: this rank's a vs every b
        logits_ba = logit_scale * b @ all_a.T  # [N, N * ranks]
        per_a = F.cross_entropy(logits_ab, target, reduction="none")  # [N]
        per_b = F.cross_entropy(logits_ba, target, reduction="none")  # [N]
        sample = (per_a + per_b) / 2
        accuracy = (logits_ab.detach().argmax(dim=1) == target).float().mean()
        return ClipTerms(sample.mean(), sample, accuracy)

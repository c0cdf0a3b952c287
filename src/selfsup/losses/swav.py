"""SwAV's swapped prediction: every view predicts the codes of the other (global) views."""

from __future__ import annotations

from collections.abc import Sequence

import torch
from torch import nn


class SwAVLoss(nn.Module):
    """Cross-entropy between the code ``q_i`` of view i and ``softmax(scores_j / T)`` of every
    other view j, averaged over all such pairs and the batch (Caron et al., 2020).

    ``codes[i]`` belongs to ``scores[i]``: codes are computed for the first ``len(codes)``
    views (the global crops) and every view, local crops included, predicts them. Codes carry
    no gradient (they come from Sinkhorn under ``no_grad``).

    Args:
        temperature: divides the prototype scores before the softmax (SwAV: 0.1).
    """

    def __init__(self, temperature: float = 0.1) -> None:
        super().__init__()
        if not temperature > 0:
            raise ValueError(f"SwAVLoss temperature must be > 0, got {temperature}")
        self.temperature = float(temperature)

    def forward(
        self, scores: Sequence[torch.Tensor], codes: Sequence[torch.Tensor]
    ) -> torch.Tensor:
        """Mean swapped-prediction loss; ``scores``: V tensors ``[B, K]``, ``codes``: C <= V."""
        if len(scores) < 2 or not 1 <= len(codes) <= len(scores):
            raise ValueError(
                f"SwAVLoss needs >= 2 views and 1..{len(scores)} codes, "
                f"got {len(scores)} views and {len(codes)} codes"
            )
        shape = scores[0].shape
        if len(shape) != 2 or any(t.shape != shape for t in [*scores, *codes]):
            raise ValueError(
                "SwAVLoss expects every score and code tensor of one shape [B, K], got "
                f"{[tuple(t.shape) for t in [*scores, *codes]]}"
            )
        log_p = [torch.log_softmax(s / self.temperature, dim=1) for s in scores]
        terms = [
            -(q.detach() * log_p[j]).sum(dim=1).mean()
            for i, q in enumerate(codes)
            for j in range(len(scores))
            if j != i
        ]
        return torch.stack(terms).mean()

"""Label-free health signals of a representation, cheap enough to log during training."""

from __future__ import annotations

import torch
import torch.nn.functional as F


@torch.no_grad()
def embedding_std(z: torch.Tensor) -> float:
    """Std over the batch of L2-normalised embeddings ``[B, D]``, averaged over dimensions.

    A collapsed representation (all rows alike) gives 0; an isotropic one gives about
    ``1 / sqrt(D)``, so values far below that flag (partial) collapse.
    """
    if z.ndim != 2 or z.shape[0] < 2:
        raise ValueError(f"embedding_std needs [B, D] with B >= 2, got {tuple(z.shape)}")
    unit = F.normalize(z.detach().float(), dim=1)
    return unit.std(dim=0).mean().item()

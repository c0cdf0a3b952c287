"""BERT's token corruption: choose a fraction of maskable tokens, then 80/10/10 replace them.

Returned labels hold the original id at chosen positions and ``IGNORE`` elsewhere, so
``cross_entropy(..., ignore_index=IGNORE)`` scores the chosen positions only.
"""

from __future__ import annotations

from collections.abc import Sequence

import torch

IGNORE = -100


def mask_tokens(
    ids: torch.Tensor,
    mask_id: int,
    special_ids: Sequence[int],
    vocab_size: int,
    ratio: float = 0.15,
    mask_fraction: float = 0.8,
    random_fraction: float = 0.1,
    generator: torch.Generator | None = None,
) -> tuple[torch.Tensor, torch.Tensor]:
    """Corrupt ``ids [B, T]`` for masked-LM training; returns ``(corrupted, labels)``.

    Each token that is not in ``special_ids`` (pad, cls, sep, mask, ...) is chosen with
    probability ``ratio``; a chosen token becomes ``mask_id`` with probability
    ``mask_fraction``, a random non-special id with probability ``random_fraction``, and is
    left unchanged otherwise.
    """
    if not 0.0 < ratio <= 1.0:
        raise ValueError(f"mask ratio must be in (0, 1], got {ratio}")
    if mask_fraction < 0 or random_fraction < 0 or mask_fraction + random_fraction > 1:
        raise ValueError(
            f"mask_fraction {mask_fraction} + random_fraction {random_fraction} must be in [0, 1]"
        )
    special = torch.zeros(vocab_size, dtype=torch.bool, device=ids.device)
    special[torch.tensor(list(special_ids), dtype=torch.long, device=ids.device)] = True
    candidates = (~special).nonzero().squeeze(1)  # ids a random replacement may take
    if len(candidates) == 0:
        raise ValueError("every id is special: nothing can be masked")

    def uniform() -> torch.Tensor:
        return torch.rand(ids.shape, generator=generator, device=ids.device)

    chosen = (uniform() < ratio) & ~special[ids]
    # One draw splits chosen tokens into [0, mask) -> [MASK], [mask, mask + random) -> random.
    u = uniform()
    to_mask = chosen & (u < mask_fraction)
    to_random = chosen & (u >= mask_fraction) & (u < mask_fraction + random_fraction)
    pick = torch.randint(len(candidates), ids.shape, generator=generator, device=ids.device)
    corrupted = torch.where(to_mask, torch.full_like(ids, mask_id), ids)
    corrupted = torch.where(to_random, candidates[pick], corrupted)
    labels = torch.where(chosen, ids, torch.full_like(ids, IGNORE))
    return corrupted, labels

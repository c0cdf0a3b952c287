"""MAE-style random masking over a padded token grid: padding is never kept, never a target.

Clips in a batch have different numbers of real tokens, but the visible-only encoder needs the
same number ``K`` of kept tokens per row. Each clip keeps ``floor(real * (1 - ratio))`` (at
least one) of its real tokens; rows that keep fewer than the batch's ``K`` fill the remaining
slots with padding tokens (the encoder hides them as keys), never with a masked real token:
``floor`` makes that always possible, since a clip with fewer real tokens has more padding.
"""

from __future__ import annotations

import torch


def padded_random_masking(
    valid: torch.Tensor, ratio: float, noise: torch.Tensor
) -> tuple[torch.Tensor, torch.Tensor, torch.Tensor]:
    """Mask ``ratio`` of each row's real tokens, choosing by ``noise`` (lowest kept).

    Args:
        valid: bool ``[B, N]``, True at real tokens (every row has one).
        ratio: fraction of real tokens masked, in ``(0, 1)``.
        noise: float ``[B, N]`` in ``[0, 1)``; only its order among real tokens matters, so
            appending padding columns (with any noise) keeps the same tokens visible.

    Returns:
        keep_idx: long ``[B, K]`` kept token indices (real ones first, then padding fill).
        mask: bool ``[B, N]``, True at masked REAL tokens (the loss positions).
        restore_idx: long ``[B, N]``: gathering ``cat([kept, filled])`` with it restores the
            grid order (as :func:`selfsup.nn.masking.random_masking`'s).
    """
    if valid.dtype != torch.bool or valid.ndim != 2 or noise.shape != valid.shape:
        raise ValueError(
            f"valid must be bool [B, N] and noise the same shape, got {valid.dtype} "
            f"{list(valid.shape)} and {list(noise.shape)}"
        )
    if not 0.0 < ratio < 1.0:
        raise ValueError(f"mask ratio must be in (0, 1), got {ratio}")
    if not bool(valid.any(dim=1).all()):
        raise ValueError("every row needs at least one real token")
    real = valid.sum(dim=1)
    keep = torch.floor(real.double() * (1.0 - ratio)).long().clamp(min=1)  # [B]
    # Rank real tokens by noise (padding after them all): the lowest ``keep`` are visible.
    rank = torch.argsort(torch.argsort(noise + 2.0 * (~valid), dim=1), dim=1)
    visible = valid & (rank < keep[:, None])
    # Visible first, then padding (slot fill), then masked real tokens.
    order_key = torch.where(visible, noise, torch.where(valid, noise + 4.0, noise + 2.0))
    shuffle = torch.argsort(order_key, dim=1)
    keep_idx = shuffle[:, : int(keep.max())]
    restore_idx = torch.argsort(shuffle, dim=1)
    kept = torch.zeros_like(valid).scatter_(1, keep_idx, True)
    return keep_idx, valid & ~kept, restore_idx

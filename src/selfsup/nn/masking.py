"""Token masks for masked-image modelling, and patch <-> pixel reshaping.

Patches and tokens are numbered row-major over the patch grid. Every random function takes an
optional ``torch.Generator`` so a method's masks are reproducible from its per-step generator;
random numbers are drawn on the generator's device and the result is moved to ``device``.
"""

from __future__ import annotations

import math

import torch


def _check_ratio(ratio: float, num_tokens: int) -> None:
    if not 0.0 <= ratio < 1.0:
        raise ValueError(f"mask ratio must be in [0, 1), got {ratio}")
    if num_tokens < 1:
        raise ValueError(f"num_tokens must be >= 1, got {num_tokens}")


def _gen_device(generator: torch.Generator | None) -> torch.device:
    return generator.device if generator is not None else torch.device("cpu")


def random_masking(
    batch: int,
    num_tokens: int,
    ratio: float,
    generator: torch.Generator | None = None,
    device: torch.device | str | None = None,
) -> tuple[torch.Tensor, torch.Tensor, torch.Tensor]:
    """Per-sample uniformly random token masking (MAE).

    Keeps ``K = round(N * (1 - ratio))`` tokens per sample (at least one).

    Returns:
        keep_idx: long ``[B, K]``, the kept token indices (in random order).
        mask: bool ``[B, N]``, True where the token is masked (removed).
        restore_idx: long ``[B, N]``; gathering ``cat([kept, masked])`` (kept tokens in
            ``keep_idx`` order, then the masked ones) with it restores the original order.
    """
    _check_ratio(ratio, num_tokens)
    keep = max(1, round(num_tokens * (1.0 - ratio)))
    noise = torch.rand(batch, num_tokens, generator=generator, device=_gen_device(generator))
    noise = noise.to(device) if device is not None else noise
    shuffle_idx = torch.argsort(noise, dim=1)  # [B, N]: kept first, then masked
    restore_idx = torch.argsort(shuffle_idx, dim=1)  # inverse permutation
    keep_idx = shuffle_idx[:, :keep]
    mask = torch.ones(batch, num_tokens, dtype=torch.bool, device=noise.device)
    mask[:, :keep] = False  # in shuffled order ...
    mask = torch.gather(mask, 1, restore_idx)  # ... back to grid order
    return keep_idx, mask, restore_idx


def block_masking(
    batch: int,
    grid_h: int,
    grid_w: int,
    ratio: float,
    generator: torch.Generator | None = None,
    min_patches: int = 4,
    aspect: tuple[float, float] = (0.3, 1 / 0.3),
    device: torch.device | str | None = None,
) -> torch.Tensor:
    """BEiT blockwise masking: rectangles of random area and aspect until ~``ratio`` is masked.

    Each rectangle covers at least ``min_patches`` patches (fewer only to finish the budget)
    and adds at most what is left of the budget ``round(ratio * N)``: a sample is never over
    budget and rarely under it (64 attempts per sample).

    Returns bool ``[B, grid_h * grid_w]``, True = masked.
    """
    n = grid_h * grid_w
    _check_ratio(ratio, n)
    if min_patches < 1:
        raise ValueError(f"min_patches must be >= 1, got {min_patches}")
    if not 0 < aspect[0] <= aspect[1]:
        raise ValueError(f"aspect must be (low, high) with 0 < low <= high, got {aspect}")
    budget = round(ratio * n)
    log_aspect = (math.log(aspect[0]), math.log(aspect[1]))
    # One block of uniforms per sample keeps the draw count fixed (reproducible, cheap).
    draws = torch.rand(batch, 64, 4, generator=generator, device=_gen_device(generator)).cpu()
    masks = torch.zeros(batch, grid_h, grid_w, dtype=torch.bool)
    for b in range(batch):
        _fill_blocks(masks[b], budget, min_patches, log_aspect, draws[b].tolist())
    out = masks.reshape(batch, n)
    return out.to(device) if device is not None else out


def _fill_blocks(
    mask: torch.Tensor,
    budget: int,
    min_patches: int,
    log_aspect: tuple[float, float],
    draws: list[list[float]],
) -> None:
    """Add rectangles to one ``[h, w]`` mask in place, using up to ``len(draws)`` attempts."""
    grid_h, grid_w = mask.shape
    count = 0
    for u_area, u_aspect, u_top, u_left in draws:
        left_over = budget - count
        if left_over <= 0:
            break
        # Near the end of the budget the smallest block shrinks to fit what is left.
        low = min(min_patches, left_over)
        area = low + u_area * (left_over - low)
        ratio = math.exp(log_aspect[0] + u_aspect * (log_aspect[1] - log_aspect[0]))
        h = round(math.sqrt(area * ratio))
        w = round(math.sqrt(area / ratio))
        if not (1 <= h <= grid_h and 1 <= w <= grid_w):
            continue
        top = int(u_top * (grid_h - h + 1))
        left = int(u_left * (grid_w - w + 1))
        block = mask[top : top + h, left : left + w]
        new = h * w - int(block.sum())
        if 0 < new <= left_over:  # a block that would overshoot the budget is redrawn
            block.fill_(True)
            count += new


def gather_tokens(tokens: torch.Tensor, index: torch.Tensor) -> torch.Tensor:
    """``out[b, k] = tokens[b, index[b, k]]``: ``[B, N, D]`` x long ``[B, K]`` -> ``[B, K, D]``."""
    if tokens.ndim != 3 or index.ndim != 2 or index.shape[0] != tokens.shape[0]:
        raise ValueError(
            f"gather_tokens needs tokens [B, N, D] and index [B, K], got "
            f"{list(tokens.shape)} and {list(index.shape)}"
        )
    return torch.gather(tokens, 1, index.unsqueeze(-1).expand(-1, -1, tokens.shape[-1]))


def patchify(images: torch.Tensor, p: int) -> torch.Tensor:
    """Cut ``[B, C, H, W]`` into row-major patches ``[B, (H/p)*(W/p), p*p*C]``.

    Each patch vector is ordered (row in patch, column in patch, channel).
    """
    if images.ndim != 4:
        raise ValueError(f"patchify expects images [B, C, H, W], got {list(images.shape)}")
    b, c, height, width = images.shape
    if p < 1 or height % p or width % p:
        raise ValueError(f"image size {height}x{width} is not a multiple of patch size {p}")
    h, w = height // p, width // p
    x = images.reshape(b, c, h, p, w, p)
    return x.permute(0, 2, 4, 3, 5, 1).reshape(b, h * w, p * p * c)


def unpatchify(patches: torch.Tensor, p: int, h: int, w: int) -> torch.Tensor:
    """Inverse of ``patchify``: ``[B, h*w, p*p*C]`` -> ``[B, C, h*p, w*p]`` (``h, w`` = grid)."""
    if patches.ndim != 3 or patches.shape[1] != h * w or patches.shape[2] % (p * p):
        raise ValueError(
            f"unpatchify expects patches [B, {h}*{w}, p*p*C] with p={p}, got {list(patches.shape)}"
        )
    b, c = patches.shape[0], patches.shape[2] // (p * p)
    x = patches.reshape(b, h, w, p, p, c).permute(0, 5, 1, 3, 2, 4)
    return x.reshape(b, c, h * p, w * p)

"""Masks, patchify and token gathering for masked-image modelling."""

from __future__ import annotations

import pytest
import torch

from selfsup.nn.masking import (
    block_masking,
    gather_tokens,
    patchify,
    random_masking,
    unpatchify,
)


@pytest.mark.parametrize(("n", "ratio"), [(64, 0.75), (196, 0.75), (10, 0.4), (7, 0.0)])
def test_random_masking_counts_and_consistency(n: int, ratio: float) -> None:
    keep_idx, mask, restore = random_masking(5, n, ratio, torch.Generator().manual_seed(0))
    k = round(n * (1 - ratio))
    assert keep_idx.shape == (5, k) and mask.shape == (5, n) and restore.shape == (5, n)
    for b in range(5):
        kept = set(keep_idx[b].tolist())
        assert len(kept) == k
        assert kept == {i for i in range(n) if not mask[b, i]}
        assert sorted(restore[b].tolist()) == list(range(n))


def test_random_masking_is_reproducible_and_differs_per_sample() -> None:
    a = random_masking(4, 64, 0.75, torch.Generator().manual_seed(3))
    b = random_masking(4, 64, 0.75, torch.Generator().manual_seed(3))
    for x, y in zip(a, b, strict=True):
        assert torch.equal(x, y)
    assert not torch.equal(a[1][0], a[1][1])


def test_shuffle_unshuffle_round_trip_is_exact() -> None:
    tokens = torch.randn(3, 16, 5)
    keep_idx, mask, restore = random_masking(3, 16, 0.5, torch.Generator().manual_seed(0))
    kept = gather_tokens(tokens, keep_idx)
    for b in range(3):  # per-row reference
        for j, i in enumerate(keep_idx[b].tolist()):
            assert torch.equal(kept[b, j], tokens[b, i])
    masked_rows = torch.stack([tokens[b][mask[b]] for b in range(3)])  # in grid order
    # Masked rows in any order: restore must only depend on kept first, then masked by shuffle.
    shuffle = torch.argsort(restore, dim=1)
    full = torch.cat([kept, gather_tokens(tokens, shuffle[:, kept.shape[1] :])], dim=1)
    assert torch.equal(gather_tokens(full, restore), tokens)
    assert masked_rows.shape == (3, 8, 5)


@pytest.mark.parametrize(("c", "h", "w", "p"), [(3, 32, 32, 4), (1, 8, 12, 2), (3, 16, 16, 16)])
def test_patchify_unpatchify_round_trip_pixel_exact(c: int, h: int, w: int, p: int) -> None:
    images = torch.randint(0, 256, (2, c, h, w), dtype=torch.uint8)
    patches = patchify(images, p)
    assert patches.shape == (2, (h // p) * (w // p), p * p * c)
    assert torch.equal(unpatchify(patches, p, h // p, w // p), images)
    # Reference for one patch: row-major grid position, (row, col, channel) order inside.
    gi, gj = (h // p) - 1, 0
    ref = images[1, :, gi * p : (gi + 1) * p, gj * p : (gj + 1) * p].permute(1, 2, 0).flatten()
    assert torch.equal(patches[1, gi * (w // p) + gj], ref)


def test_patchify_rejects_non_multiples() -> None:
    with pytest.raises(ValueError, match="not a multiple of patch size 4"):
        patchify(torch.zeros(1, 3, 30, 32), 4)
    with pytest.raises(ValueError, match="unpatchify expects"):
        unpatchify(torch.zeros(1, 15, 48), 4, 4, 4)


def test_block_masking_ratio_close_to_target() -> None:
    for ratio, (gh, gw) in [(0.4, (8, 8)), (0.4, (14, 14)), (0.25, (8, 12))]:
        mask = block_masking(64, gh, gw, ratio, torch.Generator().manual_seed(0))
        assert mask.shape == (64, gh * gw) and mask.dtype == torch.bool
        budget = round(ratio * gh * gw)
        counts = mask.sum(1)
        assert int(counts.max()) <= budget
        assert float(counts.float().mean()) >= budget - 1


def components(mask: torch.Tensor) -> int:
    """Reference: 4-connected components of a 2-D bool grid, by flood fill."""
    h, w = mask.shape
    seen: set[tuple[int, int]] = set()
    count = 0
    for i in range(h):
        for j in range(w):
            if mask[i, j] and (i, j) not in seen:
                count += 1
                stack = [(i, j)]
                while stack:
                    y, x = stack.pop()
                    if (y, x) in seen or not (0 <= y < h and 0 <= x < w) or not mask[y, x]:
                        continue
                    seen.add((y, x))
                    stack += [(y + 1, x), (y - 1, x), (y, x + 1), (y, x - 1)]
    return count


def test_block_masks_are_contiguous_blocks() -> None:
    gen = torch.Generator().manual_seed(0)
    block = block_masking(32, 8, 8, 0.4, gen).reshape(32, 8, 8)
    _, rand, _ = random_masking(32, 64, 0.6, torch.Generator().manual_seed(0))
    block_parts = sum(components(m) for m in block) / 32
    random_parts = sum(components(m) for m in rand.reshape(32, 8, 8)) / 32
    assert block_parts < 4 < random_parts
    # One block of exactly the budget with aspect 1 is a 4x4 square.
    square = block_masking(8, 8, 8, 0.25, gen, min_patches=16, aspect=(1.0, 1.0))
    for m in square.reshape(8, 8, 8):
        rows, cols = m.any(1).nonzero().flatten(), m.any(0).nonzero().flatten()
        assert len(rows) == len(cols) == 4
        assert m[rows[0] : rows[-1] + 1, cols[0] : cols[-1] + 1].all() and m.sum() == 16


def test_masking_rejects_bad_ratio() -> None:
    with pytest.raises(ValueError, match="mask ratio must be in"):
        random_masking(2, 16, 1.0)
    with pytest.raises(ValueError, match="mask ratio must be in"):
        block_masking(2, 4, 4, -0.1)

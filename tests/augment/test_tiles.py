"""Jigsaw / relative-position tiles: the gap between tiles is honoured, the content is exact."""

from __future__ import annotations

import itertools

import pytest
import torch

from selfsup.augment.tiles import cut_tiles, jitter_tile_colours, tile_corners, tile_size


@pytest.mark.parametrize(
    ("size", "gap", "jitter"), [(32, 2, 1), (32, 1, 3), (64, 4, 5), (33, 3, 2)]
)
def test_tiles_never_touch(size: int, gap: int, jitter: int) -> None:
    tile = tile_size(size, 3, gap, jitter)
    corners = tile_corners(256, size, 3, gap, jitter, torch.Generator().manual_seed(0))
    assert corners.min() >= 0 and corners.max() + tile <= size
    for i, j in itertools.combinations(range(9), 2):
        # Empty pixels between tiles i and j along rows and columns; the larger is the gap.
        apart = (corners[:, i] - corners[:, j]).abs() - tile  # [B, 2]
        assert int(apart.max(1).values.min()) >= gap, (i, j)
    # The jitter is used: offsets vary across the batch.
    assert corners[:, 0].unique(dim=0).shape[0] == (jitter + 1) ** 2


def test_cut_tiles_copies_the_pixels_at_the_corners() -> None:
    images = torch.randn(3, 3, 32, 32)
    corners = tile_corners(3, 32, generator=torch.Generator().manual_seed(1))
    tile = tile_size(32, 3, 2, 1)
    tiles = cut_tiles(images, corners, tile)
    assert tiles.shape == (3, 9, 3, tile, tile)
    for b, k in itertools.product(range(3), range(9)):
        r, c = corners[b, k].tolist()
        assert torch.equal(tiles[b, k], images[b, :, r : r + tile, c : c + tile])


def test_channel_drop_keeps_one_channel_per_dropped_tile() -> None:
    tiles = torch.full((64, 9, 3, 5, 5), 7.0)
    out = jitter_tile_colours(tiles, strength=0.0, drop_p=1.0, generator=torch.Generator())
    kept = (out == 7.0).flatten(3).all(3)  # [64, 9, 3]: channels left untouched
    assert torch.all(kept.sum(-1) == 1)


def test_no_room_for_tiles_is_refused() -> None:
    with pytest.raises(ValueError, match="no room"):
        tile_size(9, 3, 2, 1)

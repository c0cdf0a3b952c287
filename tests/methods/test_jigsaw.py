"""Jigsaw: puzzles are the permuted tiles, and the permutation set travels with checkpoints."""

from __future__ import annotations

import torch

from selfsup.augment import create_augment
from selfsup.backbones import create_backbone
from selfsup.methods import create_method
from selfsup.methods.pretext.jigsaw import Jigsaw
from selfsup.nn.permutations import max_hamming_permutations


def jigsaw(**kwargs: object) -> Jigsaw:
    method = create_method(
        "jigsaw",
        backbone=create_backbone("resnet_tiny"),
        augment=create_augment("crop_flip", size=32),
        hidden_dim=16,
        **kwargs,
    )
    assert isinstance(method, Jigsaw)
    return method


def test_puzzle_shows_the_tiles_in_the_labelled_order() -> None:
    method = jigsaw(num_permutations=10, colour_strength=0.0, channel_drop_p=0.0, jitter=0)
    images = torch.randn(4, 3, 32, 32)
    tiles, labels = method.puzzle(images, torch.Generator().manual_seed(0))
    tile = tiles.shape[-1]
    assert tile == 32 // 3 - 2
    for b in range(4):
        order = method.permutations[labels[b]]
        for pos in range(9):
            cell = int(order[pos])
            r, c = 2 + (cell // 3) * 10, 2 + (cell % 3) * 10  # grid starts at 1, margin 1
            assert torch.equal(tiles[b, pos], images[b, :, r : r + tile, c : c + tile])


def test_the_permutation_set_is_saved_and_restored() -> None:
    saved = jigsaw(num_permutations=12, permutation_seed=5)
    assert torch.equal(saved.permutations, max_hamming_permutations(12, seed=5))
    state = saved.state_dict()
    assert "permutations" in state
    other = jigsaw(num_permutations=12, permutation_seed=6)
    assert not torch.equal(other.permutations, saved.permutations)
    other.load_state_dict(state)
    assert torch.equal(other.permutations, saved.permutations)


def test_active_permutations_limit_the_puzzles_drawn() -> None:
    method = jigsaw(num_permutations=20, active_permutations=3)
    _, labels = method.puzzle(torch.randn(256, 3, 32, 32), torch.Generator().manual_seed(0))
    assert set(labels.tolist()) == {0, 1, 2}
    method.active_permutations = 20  # as a curriculum sets it
    _, labels = method.puzzle(torch.randn(256, 3, 32, 32), torch.Generator().manual_seed(0))
    assert labels.max() > 2

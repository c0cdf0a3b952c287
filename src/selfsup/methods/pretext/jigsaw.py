"""Jigsaw puzzles (Noroozi & Favaro 2016): which of P permutations shuffled nine tiles."""

from __future__ import annotations

from typing import ClassVar

import torch
from torch import nn

from selfsup.augment.tiles import cut_tiles, jitter_tile_colours, tile_corners, tile_size
from selfsup.backbones.base import Backbone
from selfsup.methods.base import Batch, Method
from selfsup.methods.registry import register_method
from selfsup.nn.permutations import max_hamming_permutations
from selfsup.nn.pretext_heads import PretextClassifier, classification_outputs

GRID = 3
TILES = GRID * GRID


@register_method(
    "jigsaw",
    tiny={"backbone": "resnet_tiny", "args": {"num_permutations": 8, "hidden_dim": 32}},
)
class Jigsaw(Method):
    """A siamese tile encoder (the backbone on each tile) whose nine concatenated features
    classify the permutation index.

    Tiles come from a 3x3 grid with ``gap`` pixels between them and ``jitter`` pixels of
    random offset inside each cell, and get their own colour jitter and channel drop, so
    neither edges nor colour statistics give the order away. The permutation set is chosen
    greedily for maximal minimum Hamming distance from ``permutation_seed`` and kept in the
    state dict (buffer ``permutations``), so a checkpoint carries the classes it learnt.

    Args:
        backbone: the encoder being pretrained; it sees tiles of
            ``size // 3 - 2 * ceil(gap / 2) - jitter`` px (ResNets take any size).
        augment: its first view of each image is cut into tiles.
        num_permutations: P, the number of classes (paper: 100, up to 1000).
        permutation_seed: seeds the permutation set.
        gap / jitter: minimum pixels between tiles / random offset range inside a cell.
        colour_strength / channel_drop_p: per-tile gain and shift; probability of keeping one
            channel and replacing the other two by noise.
        hidden_dim: width of the classifier's hidden layer.
        active_permutations: puzzles are drawn from the first this-many permutations of the
            set (all P by default). The greedy set starts with its most distant members, so a
            curriculum can grow it from a few very different orders to all P
            (``method.active_permutations: {schedule: linear, start: 10, end: 100}``).
    """

    reports_sample_loss: ClassVar[bool] = True
    schedulable: ClassVar[dict[str, tuple[float, float]]] = {"active_permutations": (1, 1001)}

    def __init__(
        self,
        backbone: Backbone,
        augment: nn.Module,
        num_permutations: int = 100,
        permutation_seed: int = 0,
        gap: int = 2,
        jitter: int = 1,
        colour_strength: float = 0.2,
        channel_drop_p: float = 0.3,
        hidden_dim: int = 512,
        active_permutations: int | None = None,
    ) -> None:
        super().__init__(backbone, augment)
        tile_size(GRID * 4, GRID, gap, 0)  # validates gap and jitter before any data
        self.gap, self.jitter = gap, jitter
        self.colour_strength, self.channel_drop_p = colour_strength, channel_drop_p
        perms = max_hamming_permutations(num_permutations, permutation_seed, TILES)
        self.register_buffer("permutations", perms)  # persistent: saved with the run
        self.permutations: torch.Tensor
        self.head = PretextClassifier(TILES * backbone.feature_dim, hidden_dim, num_permutations)
        self.active_permutations = num_permutations
        if active_permutations is not None:
            lo, hi = self.schedulable_range("active_permutations")
            if not lo < active_permutations < hi:
                raise ValueError(f"active_permutations must be in 2..{num_permutations}")
            self.active_permutations = active_permutations

    def schedulable_range(self, key: str) -> tuple[float, float]:
        # Hardness can grow to the whole set, never past it.
        if key == "active_permutations":
            return (1, self.permutations.shape[0] + 1)
        return super().schedulable_range(key)

    def puzzle(
        self, images: torch.Tensor, generator: torch.Generator | None = None
    ) -> tuple[torch.Tensor, torch.Tensor]:
        """Shuffled tiles ``[B, 9, C, t, t]`` (position j shows tile ``perm[j]``) and the
        permutation indices ``[B]``."""
        b, size = images.shape[0], images.shape[-1]
        tile = tile_size(size, GRID, self.gap, self.jitter)
        corners = tile_corners(b, size, GRID, self.gap, self.jitter, generator, images.device)
        tiles = cut_tiles(images, corners, tile)  # [B, 9, C, t, t], cells row-major
        tiles = jitter_tile_colours(tiles, self.colour_strength, self.channel_drop_p, generator)
        gdev = generator.device if generator is not None else torch.device("cpu")
        labels = torch.randint(
            0, int(self.active_permutations), (b,), generator=generator, device=gdev
        )
        labels = labels.to(images.device)
        order = self.permutations[labels]  # [B, 9]
        rows = torch.arange(b, device=images.device)[:, None]
        return tiles[rows, order], labels

    def training_step(
        self, batch: Batch, generator: torch.Generator | None = None
    ) -> dict[str, torch.Tensor]:
        (view,) = self.views(batch, generator)[:1]
        tiles, labels = self.puzzle(view, generator)
        b = tiles.shape[0]
        h = self.backbone.forward_features(tiles.flatten(0, 1)).view(b, TILES, -1)  # [B, 9, D]
        logits = self.head(h.flatten(1))  # [B, P]
        # The mean tile feature per image: what the encoder sees of it in training.
        return classification_outputs(logits, labels, 1, h.mean(1))

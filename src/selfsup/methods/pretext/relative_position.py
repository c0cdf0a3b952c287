"""Context prediction (Doersch et al. 2015): where a patch sits relative to the centre one."""

from __future__ import annotations

from typing import ClassVar

import torch
from torch import nn

from selfsup.augment.tiles import cut_tiles, jitter_tile_colours, tile_corners, tile_size
from selfsup.backbones.base import Backbone
from selfsup.methods.base import Batch, Method
from selfsup.methods.registry import register_method
from selfsup.nn.pretext_heads import PretextClassifier, classification_outputs

GRID = 3
CENTRE = 4
NEIGHBOURS = (0, 1, 2, 3, 5, 6, 7, 8)  # row-major cells around the centre: the 8 classes


@register_method("relative_position", tiny={"backbone": "resnet_tiny", "args": {"hidden_dim": 32}})
class RelativePosition(Method):
    """The centre patch's features and one neighbour's, concatenated, classify the neighbour's
    position (8-way).

    Patches come from a 3x3 grid with ``gap`` pixels between them and ``jitter`` pixels of
    random offset in each cell (so edges and lines cannot be continued across patches); each
    patch may have two of its channels replaced by noise (the paper's colour dropping against
    chromatic aberration). Every image gives all eight (centre, neighbour) pairs from one
    backbone pass over its nine patches.

    Args:
        backbone: the encoder being pretrained; it sees patches of
            ``size // 3 - 2 * ceil(gap / 2) - jitter`` px.
        augment: its first view of each image is cut into patches.
        gap / jitter: minimum pixels between patches / offset range inside a cell.
        colour_strength / channel_drop_p: per-patch gain and shift; channel-drop probability.
        hidden_dim: width of the classifier's hidden layer.
    """

    reports_sample_loss: ClassVar[bool] = True

    def __init__(
        self,
        backbone: Backbone,
        augment: nn.Module,
        gap: int = 2,
        jitter: int = 1,
        colour_strength: float = 0.0,
        channel_drop_p: float = 0.3,
        hidden_dim: int = 512,
    ) -> None:
        super().__init__(backbone, augment)
        tile_size(GRID * 4, GRID, gap, 0)  # validates gap and jitter before any data
        self.gap, self.jitter = gap, jitter
        self.colour_strength, self.channel_drop_p = colour_strength, channel_drop_p
        self.head = PretextClassifier(2 * backbone.feature_dim, hidden_dim, len(NEIGHBOURS))

    def patches(
        self, images: torch.Tensor, generator: torch.Generator | None = None
    ) -> torch.Tensor:
        """The nine jittered patches of each image ``[B, 9, C, t, t]``, cells row-major."""
        b, size = images.shape[0], images.shape[-1]
        tile = tile_size(size, GRID, self.gap, self.jitter)
        corners = tile_corners(b, size, GRID, self.gap, self.jitter, generator, images.device)
        tiles = cut_tiles(images, corners, tile)
        return jitter_tile_colours(tiles, self.colour_strength, self.channel_drop_p, generator)

    def training_step(
        self, batch: Batch, generator: torch.Generator | None = None
    ) -> dict[str, torch.Tensor]:
        (view,) = self.views(batch, generator)[:1]
        tiles = self.patches(view, generator)
        b = tiles.shape[0]
        h = self.backbone.forward_features(tiles.flatten(0, 1)).view(b, GRID * GRID, -1)
        centre = h[:, CENTRE : CENTRE + 1].expand(-1, len(NEIGHBOURS), -1)  # [B, 8, D]
        pairs = torch.cat([centre, h[:, list(NEIGHBOURS)]], dim=-1).flatten(0, 1)  # [8B, 2D]
        labels = torch.arange(len(NEIGHBOURS), device=view.device).repeat(b)
        logits = self.head(pairs)  # [8B, 8]
        # Pairs are image-major: an image's loss is the mean over its eight neighbours.
        return classification_outputs(logits, labels, len(NEIGHBOURS), h.mean(1))

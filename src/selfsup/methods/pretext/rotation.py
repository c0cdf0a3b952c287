"""RotNet (Gidaris et al. 2018): predict which of four rotations an image was given."""

from __future__ import annotations

from typing import ClassVar

import torch
from torch import nn

from selfsup.backbones.base import Backbone
from selfsup.methods.base import Batch, Method
from selfsup.methods.registry import register_method
from selfsup.nn.pretext_heads import PretextClassifier, classification_outputs

ROTATIONS = 4  # 0, 90, 180, 270 degrees counter-clockwise


def all_rotations(images: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
    """Every image in all four rotations, exact (``torch.rot90``): ``[4B, C, H, W]`` ordered by
    rotation (all 0-degree images first), and the labels ``[4B]`` (k for k * 90 degrees)."""
    if images.ndim != 4 or images.shape[2] != images.shape[3]:
        raise ValueError(f"rotations need square images [B, C, S, S], got {list(images.shape)}")
    rotated = torch.cat([torch.rot90(images, k, dims=(2, 3)) for k in range(ROTATIONS)])
    labels = torch.arange(ROTATIONS, device=images.device).repeat_interleave(images.shape[0])
    return rotated, labels


@register_method("rotation", tiny={"backbone": "resnet_tiny", "args": {"hidden_dim": 32}})
class Rotation(Method):
    """A 4-way classifier on the pooled backbone features of every rotated copy of the batch.

    The paper found that all four rotations of each image in the same batch train better than
    one random rotation per image; the head is dropped at evaluation, as projection heads are.

    Args:
        backbone: the encoder being pretrained.
        augment: its first view of each image is rotated (crop + flip recipes suit it).
        hidden_dim: width of the classifier's hidden layer.
    """

    reports_sample_loss: ClassVar[bool] = True

    def __init__(self, backbone: Backbone, augment: nn.Module, hidden_dim: int = 512) -> None:
        super().__init__(backbone, augment)
        self.head = PretextClassifier(backbone.feature_dim, hidden_dim, ROTATIONS)

    def training_step(
        self, batch: Batch, generator: torch.Generator | None = None
    ) -> dict[str, torch.Tensor]:
        (view,) = self.views(batch, generator)[:1]
        n = view.shape[0]
        rotated, labels = all_rotations(view)  # [4B, C, S, S], [4B]
        h = self.backbone.forward_features(rotated)  # [4B, D]
        logits = self.head(h)  # [4B, 4]
        # Rotations come in blocks of n; image-major order gives each image its four copies.
        by_image = logits.view(4, n, 4).transpose(0, 1).reshape(4 * n, 4)
        labels = labels.view(4, n).t().reshape(-1)
        # The unrotated copies come first: their features are the batch's embedding.
        return classification_outputs(by_image, labels, 4, h[:n])

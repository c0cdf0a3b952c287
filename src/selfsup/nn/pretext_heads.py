"""Heads of the classic pretext tasks: a classifier over pooled features and a decoder that
upsamples a backbone's feature map back to pixels (colorization, inpainting)."""

from __future__ import annotations

import itertools

import torch
import torch.nn.functional as F
from torch import nn

from selfsup.nn.heads import LayerSpec, MLPHead


class PretextClassifier(MLPHead):
    """``Linear -> BN -> ReLU -> Linear`` to ``classes`` logits (rotation, jigsaw, position)."""

    def __init__(self, in_dim: int, hidden_dim: int, classes: int) -> None:
        if classes < 2:
            raise ValueError(f"a pretext classifier needs >= 2 classes, got {classes}")
        super().__init__(
            [
                LayerSpec(in_dim, hidden_dim, batch_norm=True, activation="relu"),
                LayerSpec(hidden_dim, classes),
            ]
        )


def classification_outputs(
    logits: torch.Tensor, labels: torch.Tensor, per_image: int, embedding: torch.Tensor
) -> dict[str, torch.Tensor]:
    """A pretext classifier's step outputs: ``loss``, ``sample_loss`` (each image's mean over
    its ``per_image`` consecutive puzzles), ``pretext_acc`` and the detached ``embedding``."""
    losses = F.cross_entropy(logits, labels, reduction="none")
    sample_loss = losses.view(-1, per_image).mean(1)
    accuracy = (logits.argmax(1) == labels).float().mean()
    return {
        "loss": sample_loss.mean(),
        "sample_loss": sample_loss,
        "pretext_acc": accuracy.detach(),
        "embedding": embedding.detach(),
    }


def _up_block(in_ch: int, out_ch: int) -> nn.Sequential:
    return nn.Sequential(
        nn.Upsample(scale_factor=2, mode="bilinear", align_corners=False),
        nn.Conv2d(in_ch, out_ch, 3, padding=1, bias=False),
        nn.BatchNorm2d(out_ch),
        nn.ReLU(inplace=True),
    )


class MapDecoder(nn.Module):
    """Feature map ``[B, in_dim, h, w]`` -> ``[B, out_channels, H, W]``.

    ``stages`` x (2x bilinear upsample, 3x3 conv, BN, ReLU) halving the width each time, a 1x1
    conv to ``out_channels``, then a bilinear resize to ``size`` when given and the map's
    stride is not exactly ``2 ** stages`` (e.g. a ViT's patch grid).
    """

    def __init__(self, in_dim: int, out_channels: int, stages: int = 3, width: int = 128) -> None:
        super().__init__()
        if stages < 0 or width < 1:
            raise ValueError(f"MapDecoder needs stages >= 0 and width >= 1, got {stages}, {width}")
        widths = [in_dim] + [max(8, width // 2**i) for i in range(stages)]
        self.blocks = nn.Sequential(*(_up_block(a, b) for a, b in itertools.pairwise(widths)))
        self.out = nn.Conv2d(widths[-1], out_channels, 1)

    def forward(self, fmap: torch.Tensor, size: tuple[int, int] | None = None) -> torch.Tensor:
        x = self.out(self.blocks(fmap))
        if size is not None and tuple(x.shape[2:]) != tuple(size):
            x = F.interpolate(x, size=size, mode="bilinear", align_corners=False)
        return x


class PatchDiscriminator(nn.Module):
    """A small conv critic: image ``[B, C, H, W]`` -> one real/fake logit per image."""

    def __init__(self, in_channels: int = 3, width: int = 32) -> None:
        super().__init__()
        self.net = nn.Sequential(
            nn.Conv2d(in_channels, width, 4, stride=2, padding=1),
            nn.LeakyReLU(0.2, inplace=True),
            nn.Conv2d(width, 2 * width, 4, stride=2, padding=1),
            nn.LeakyReLU(0.2, inplace=True),
            nn.Conv2d(2 * width, 1, 3, padding=1),
        )

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return self.net(x).mean(dim=(1, 2, 3))

"""Tiny backbones of each kind (a ResNet, a ViT, a text encoder) and their export info."""

from __future__ import annotations

from typing import Any

import torch

from selfsup.augment import create_augment
from selfsup.backbones import Backbone, create_backbone
from selfsup.export.info import EncoderInfo, describe_backbone
from selfsup.modalities import get_modality

# name -> (backbone kwargs, image size or None for text): one ResNet, one ViT, one text encoder.
TINY = {
    "resnet_tiny": ({}, 16),
    "vit_tiny": ({"img_size": 16, "patch_size": 4, "depth": 1}, 16),
    "text_encoder_tiny": ({"dim": 32, "depth": 1, "heads": 2, "max_len": 16}, None),
}


def tiny_backbone(name: str, **kwargs: Any) -> tuple[Backbone, EncoderInfo]:
    """A seeded backbone ``name`` (TINY's kwargs updated by ``kwargs``) and its info, images
    described with SimCLR views at TINY's size."""
    torch.manual_seed(0)
    given, size = TINY.get(name, ({}, 16))
    given = {**given, **kwargs}
    extra = get_modality("text").tiny_backbone_args() if name.startswith("text") else {}
    backbone = create_backbone(name, **given, **extra).eval()
    augment = create_augment("simclr", size=size) if size else None
    return backbone, describe_backbone(backbone, name, given, augment)

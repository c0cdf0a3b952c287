"""Images: uint8 ``[3, H, W]`` items, folder/digits/shard evaluation sets, crop + flip views."""

from __future__ import annotations

from typing import Any

import torch
from torch.utils.data import Dataset

from selfsup.augment.batch_crop import random_crop_flip
from selfsup.backbones.base import Backbone
from selfsup.data.eval_images import image_dataset_from_spec
from selfsup.data.image_items import image_item_source
from selfsup.data.item_sources import ItemSource
from selfsup.modalities.base import Modality
from selfsup.modalities.registry import register_modality


@register_modality("image")
class ImageModality(Modality):
    """Decoded, not yet augmented images; views are made on device by the method's augment."""

    item = "uint8 [3, H, W]"
    unit = "img"
    shape_hint = (
        "set an image size (data.size=N, or --size N for eval) so every image is resized and "
        "centre-cropped"
    )

    def eval_dataset(
        self, spec: str, encoder: Backbone, size: int | None, val_fraction: float
    ) -> Dataset[Any]:
        """``digits:train|test``, a folder ``PATH[@train|val]`` or tar shards; ``size``: decode
        to ``size`` x ``size``."""
        return image_dataset_from_spec(spec, size, val_fraction)

    def item_source(
        self, spec: str, encoder: Backbone, size: int | None, val_fraction: float
    ) -> ItemSource:
        """``digits:SPLIT`` or a folder ``PATH[@train|val]``, decoded file by file."""
        return image_item_source(spec, size, val_fraction)

    def finetune_view(
        self, x: torch.Tensor, crop_scale_min: float, flip: bool, generator: torch.Generator
    ) -> torch.Tensor:
        """A random crop of at least ``crop_scale_min`` of the area, flipped half the time."""
        return random_crop_flip(x, crop_scale_min, flip, generator)

    def tiny_input(
        self, backbone: Backbone, batch: int, size: int, generator: torch.Generator
    ) -> torch.Tensor:
        """Normalised-looking float images ``[batch, 3, size, size]``."""
        return torch.randn(batch, 3, size, size, generator=generator)

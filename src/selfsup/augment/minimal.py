"""Crop-and-flip-only views, for methods whose pretext task is itself the hard part (MAE)."""

from __future__ import annotations

from selfsup.augment.image import CIFAR_MEAN, CIFAR_STD
from selfsup.augment.registry import register_augment
from selfsup.augment.spec import ViewSpec
from selfsup.augment.views import ImageViews


@register_augment("crop_flip", modality="image")
def crop_flip(
    size: int = 32,
    scale_min: float = 0.2,
    flip_p: float = 0.5,
    num_views: int = 1,
    mean: tuple[float, float, float] = CIFAR_MEAN,
    std: tuple[float, float, float] = CIFAR_STD,
) -> ImageViews:
    """Random resized crop (scale ``[scale_min, 1]``) and horizontal flip, no colour changes.

    MAE (He et al. 2021) pretrains with exactly this (scale 0.2-1); BEiT adds colour jitter but
    works with it too. ``num_views`` independent views (1 for MAE / BEiT).
    """
    if num_views < 1:
        raise ValueError(f"crop_flip num_views must be >= 1, got {num_views}")
    spec = ViewSpec(size=size, scale=(scale_min, 1.0), flip_p=flip_p, jitter_p=0.0, gray_p=0.0)
    return ImageViews([spec] * num_views, mean=mean, std=std)

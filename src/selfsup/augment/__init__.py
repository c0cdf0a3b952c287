"""Batched, on-device view-making with per-sample random parameters.

``create_augment("simclr", size=32)`` builds an ``ImageViews``; custom recipes are lists of
``ViewSpec``. Importing this package registers the recipes in ``image``.
"""

from selfsup.augment import image, minimal
from selfsup.augment.params import ViewParams, sample_view_params
from selfsup.augment.registry import AUGMENTS, create_augment, list_augments, register_augment
from selfsup.augment.spec import ViewSpec
from selfsup.augment.views import ImageViews

__all__ = [
    "AUGMENTS",
    "ImageViews",
    "ViewParams",
    "ViewSpec",
    "create_augment",
    "image",
    "list_augments",
    "minimal",
    "register_augment",
    "sample_view_params",
]

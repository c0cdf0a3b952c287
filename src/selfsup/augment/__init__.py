"""Batched, on-device view-making with per-sample random parameters.

``create_augment("simclr", size=32)`` builds an ``ImageViews``; custom recipes are lists of
``ViewSpec``. Audio views (``AudioViews``, ``AudioViewSpec``) take NaN-padded waveforms.
Importing this package registers the recipes in ``image``, ``minimal`` and ``audio_recipes``.
"""

from selfsup.augment import audio_recipes, image, minimal
from selfsup.augment.audio import AudioViews
from selfsup.augment.audio_spec import AudioViewSpec
from selfsup.augment.params import ViewParams, sample_view_params
from selfsup.augment.registry import AUGMENTS, create_augment, list_augments, register_augment
from selfsup.augment.spec import ViewSpec
from selfsup.augment.views import ImageViews

__all__ = [
    "AUGMENTS",
    "AudioViewSpec",
    "AudioViews",
    "ImageViews",
    "ViewParams",
    "ViewSpec",
    "audio_recipes",
    "create_augment",
    "image",
    "list_augments",
    "minimal",
    "register_augment",
    "sample_view_params",
]

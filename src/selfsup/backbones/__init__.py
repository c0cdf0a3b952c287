"""Encoders behind one interface, created by name: ``create_backbone("resnet18", cifar_stem=True)``.

Importing this package registers every backbone module below.
"""

from selfsup.backbones import audio_vit, audio_wav2vec2, resnet, text, vit
from selfsup.backbones.base import Backbone
from selfsup.backbones.registry import create_backbone, list_backbones, register_backbone

__all__ = [
    "Backbone",
    "audio_vit",
    "audio_wav2vec2",
    "create_backbone",
    "list_backbones",
    "register_backbone",
    "resnet",
    "text",
    "vit",
]

"""Modality registry: ``get_modality("text")``, or the spec of a backbone or encoder."""

from __future__ import annotations

import functools

from torch import nn

from selfsup.backbones.base import Backbone
from selfsup.backbones.registry import backbone_modality
from selfsup.modalities.base import Modality
from selfsup.registry import Registry

MODALITIES: Registry[Modality] = Registry("modality")
register_modality = MODALITIES.register


@functools.cache
def get_modality(name: str) -> Modality:
    """The spec registered as ``name`` (one shared instance; specs hold no state)."""
    return MODALITIES.create(name)


def modality_of(encoder: nn.Module) -> Modality:
    """The spec of a built encoder (a Backbone's ``modality``; the Backbone default else)."""
    return get_modality(getattr(encoder, "modality", Backbone.modality))


def modality_of_backbone(name: str) -> Modality:
    """The spec of registered backbone ``name``, before it is built."""
    return get_modality(backbone_modality(name))


def list_modalities() -> list[str]:
    """Names of all registered modalities."""
    return MODALITIES.names()

"""Backbone registry: ``create_backbone("resnet18", cifar_stem=True)``."""

from __future__ import annotations

from typing import Any

from selfsup.backbones.base import Backbone
from selfsup.registry import Registry

BACKBONES: Registry[Backbone] = Registry("backbone")
register_backbone = BACKBONES.register


def create_backbone(name: str, **kwargs: Any) -> Backbone:
    """Build a registered backbone by name."""
    return BACKBONES.create(name, **kwargs)


def list_backbones() -> list[str]:
    """Names of all registered backbones."""
    return BACKBONES.names()

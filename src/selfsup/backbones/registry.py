"""Backbone registry: ``create_backbone("resnet18", cifar_stem=True)``.

A factory's return annotation names the Backbone class it builds; that class's ``modality``
is the one place a backbone's modality is declared (:func:`backbone_modality` reads it).
"""

from __future__ import annotations

import typing
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


def backbone_class(name: str) -> type[Backbone]:
    """The Backbone subclass the factory ``name`` is annotated to return."""
    built = typing.get_type_hints(BACKBONES.get(name)).get("return")
    if not (isinstance(built, type) and issubclass(built, Backbone)):
        raise TypeError(f"backbone factory '{name}' must annotate the Backbone class it returns")
    return built


def backbone_modality(name: str) -> str:
    """The modality of backbone ``name`` (its class's ``modality``), known before building."""
    return backbone_class(name).modality

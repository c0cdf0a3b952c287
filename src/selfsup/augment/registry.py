"""Augmentation registry: ``create_augment("simclr", size=32, color_strength=0.5)``."""

from __future__ import annotations

from typing import Any

from torch import nn

from selfsup.registry import Registry

AUGMENTS: Registry[nn.Module] = Registry("augment")
register_augment = AUGMENTS.register


def create_augment(name: str, **kwargs: Any) -> nn.Module:
    """Build a registered view-maker by name."""
    return AUGMENTS.create(name, **kwargs)


def list_augments() -> list[str]:
    """Names of all registered view-makers."""
    return AUGMENTS.names()

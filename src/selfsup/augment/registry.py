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


def augment_misfit(name: str, modality: str) -> str | None:
    """Why augment ``name`` cannot make views for a backbone of ``modality`` (None when it can,
    or when its registration names no modality), naming the recipes that would."""
    made = AUGMENTS.tags(name).get("modality")
    if made is None or made == modality:
        return None
    fits = [n for n in AUGMENTS.names() if AUGMENTS.tags(n).get("modality") == modality]
    hint = f" (recipes for {modality}: {', '.join(fits)})" if fits else ""
    return f"augment '{name}' makes {made} views but the backbone encodes {modality}{hint}"

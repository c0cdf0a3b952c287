"""Method registry: ``create_method("simclr", backbone=..., augment=..., temperature=0.2)``."""

from __future__ import annotations

from typing import Any

from selfsup.methods.base import Method
from selfsup.registry import Registry

METHODS: Registry[Method] = Registry("method")
register_method = METHODS.register

# Arguments the engine supplies itself; every other constructor argument is a config key.
BUILT_ARGS = ("backbone", "augment")


def create_method(name: str, **kwargs: Any) -> Method:
    """Build a registered method by name."""
    return METHODS.create(name, **kwargs)


def list_methods() -> list[str]:
    """Names of all registered methods."""
    return METHODS.names()

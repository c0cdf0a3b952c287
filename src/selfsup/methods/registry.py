"""Method registry: ``create_method("simclr", backbone=..., augment=..., temperature=0.2)``."""

from __future__ import annotations

import dataclasses
from typing import Any

from selfsup.methods.base import Method
from selfsup.registry import Registry

METHODS: Registry[Method] = Registry("method")
register_method = METHODS.register

# Arguments the engine supplies itself; every other constructor argument is a config key.
BUILT_ARGS = ("backbone", "augment")


@dataclasses.dataclass(frozen=True)
class LoadedArg:
    """A constructor argument the engine builds by loading a trained run.

    Users write ``method.<key>: PATH`` (a checkpoint file or run directory, validated as a
    string); the engine loads the method trained there, checks that it is the registered
    method ``method``, and passes it as constructor argument ``param``. Methods thereby get
    modules, never paths, and never import the engine. Declare with the registration tag
    ``loads``: ``@register_method("beit", loads=(LoadedArg("tokenizer", ...),))``.
    """

    key: str
    param: str
    method: str


def loaded_args(name: str) -> tuple[LoadedArg, ...]:
    """The :class:`LoadedArg` declarations of method ``name`` (empty for most methods)."""
    return tuple(METHODS.tags(name).get("loads", ()))


def create_method(name: str, **kwargs: Any) -> Method:
    """Build a registered method by name."""
    return METHODS.create(name, **kwargs)


def list_methods() -> list[str]:
    """Names of all registered methods."""
    return METHODS.names()

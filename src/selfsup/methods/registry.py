"""Method registry: ``create_method("simclr", backbone=..., augment=..., temperature=0.2)``."""

from __future__ import annotations

import dataclasses
from typing import Any

from selfsup.backbones.registry import BACKBONES, backbone_class
from selfsup.methods.base import Method, method_modalities
from selfsup.registry import ConfigError, Registry, name_patterns

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


def backbone_misfit(method: str, backbone: str) -> str | None:
    """Why registered ``method`` cannot take registered ``backbone`` (None when it can): the
    backbone must encode one of the method's ``modality`` names, have tokens where the method
    ``requires_tokens``, and carry every registration tag the method names in its
    ``backbone_tags`` tag (text: ``causal`` or not). Known from the classes, before building."""
    cls: Any = METHODS.get(method)
    try:
        built = backbone_class(backbone)
    except TypeError:  # a plug-in factory that does not annotate its class: not checked here
        return None
    modalities = method_modalities(cls)
    if built.modality not in modalities:
        kinds = " or ".join(modalities)
        return f"works on {kinds} but backbone '{backbone}' encodes {built.modality}"
    if getattr(cls, "requires_tokens", False) and not built.has_tokens:
        return f"needs a backbone with tokens; '{backbone}' has none"
    wanted = METHODS.tags(method).get("backbone_tags", {})
    have = BACKBONES.tags(backbone)
    for key, value in wanted.items():
        if have.get(key) != value:
            return f"needs a backbone with {key}={value}; '{backbone}' has {key}={have.get(key)}"
    return None


def backbones_for(method: str) -> list[str]:
    """The registered backbones ``method`` takes (see :func:`backbone_misfit`)."""
    return [b for b in BACKBONES.names() if backbone_misfit(method, b) is None]


def backbones_taken(method: str) -> list[str]:
    """:func:`backbones_for` written short, e.g. ``["vit_*"]``."""
    return name_patterns(backbones_for(method), BACKBONES.names())


def check_backbone(method: str, backbone: str) -> None:
    """ConfigError (one line, naming what fits) unless ``method`` takes ``backbone``."""
    why = backbone_misfit(method, backbone)
    if why is not None:
        fits = backbones_taken(method)
        hint = f" (it takes {', '.join(fits)})" if fits else ""
        raise ConfigError(f"method '{method}' {why}{hint}")

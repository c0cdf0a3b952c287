"""Second backbones of two-tower methods (CLIP), declared so the engine builds them.

A method registers ``towers=(TowerArg("tower_b", side="b"),)``; users then write either
``method.tower_b: {name: text_encoder_tiny, dim: 64}`` (a registered backbone and its keys) or
``method.tower_b: {from: RUN}`` (the encoder a selfsup run trained, e.g. a text encoder
pretrained with MLM). The engine checks the name, keys and modality before any data is read,
builds or loads the backbone and passes the module as constructor argument ``key``: methods get
modules, never paths, and never import the engine.
"""

from __future__ import annotations

import dataclasses
from collections.abc import Mapping
from typing import Any

from selfsup.methods.registry import METHODS
from selfsup.registry import ConfigError

FROM = "from"


@dataclasses.dataclass(frozen=True)
class TowerArg:
    """Constructor argument ``key`` is a backbone encoding side ``side`` of a pairs batch."""

    key: str
    side: str


@dataclasses.dataclass(frozen=True)
class TowerSpec:
    """A parsed ``method.<key>``: a backbone ``name`` with its ``args``, or a run ``path``."""

    name: str | None
    args: dict[str, Any]
    path: str | None


def tower_args(method: str) -> tuple[TowerArg, ...]:
    """The :class:`TowerArg` declarations of method ``method`` (empty for one-tower methods)."""
    return tuple(METHODS.tags(method).get("towers", ()))


def parse_tower(key: str, value: Any) -> TowerSpec:
    """``method.<key>`` checked into a :class:`TowerSpec` (one-line ConfigErrors)."""
    where = f"method.{key}"
    if value is None:
        raise ConfigError(f"{where} is required: {{name: BACKBONE, ...}} or {{from: RUN}}")
    if not isinstance(value, Mapping):
        raise ConfigError(f"{where} must be a mapping: {{name: BACKBONE, ...}} or {{from: RUN}}")
    if (FROM in value) == ("name" in value):
        raise ConfigError(f"{where} takes exactly one of 'name' (a backbone) or 'from' (a run)")
    if FROM in value:
        if len(value) != 1 or not isinstance(value[FROM], str):
            raise ConfigError(f"{where}.from must be a run directory or checkpoint, alone")
        return TowerSpec(None, {}, value[FROM])
    if not isinstance(value["name"], str):
        raise ConfigError(f"{where}.name must be a backbone name")
    return TowerSpec(value["name"], {k: v for k, v in value.items() if k != "name"}, None)

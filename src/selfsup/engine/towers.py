"""The second backbones of two-tower methods (``method.tower_b``), checked and built.

Checks run before any data is read: the tower's name and keys against the backbone registry,
its modality against the method's and against the pairs source's side it encodes (tower ``a``,
the run's ``backbone``, is checked against side ``a`` the same way). A ``{from: RUN}`` tower is
the encoder of a selfsup run, loaded here (the engine loads runs; methods only get modules).
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from typing import Any

from selfsup.backbones.base import Backbone
from selfsup.backbones.registry import BACKBONES, backbone_class
from selfsup.config.schema import RunConfig
from selfsup.data.pairs import pair_sides
from selfsup.methods.registry import METHODS, check_backbone
from selfsup.methods.towers import parse_tower, tower_args
from selfsup.modalities import modality_of_backbone
from selfsup.registry import ConfigError

PAIRS = "pairs"


def tower_keys(method: str) -> tuple[str, ...]:
    """The ``method.*`` keys that configure towers (skipped by the constructor's checks)."""
    return tuple(t.key for t in tower_args(method))


def validate_towers(cfg: RunConfig) -> None:
    """Each tower's spec, name and keys; the data source the method needs; side modalities."""
    needs = METHODS.tags(cfg.method.name).get("data_sources")
    if needs and cfg.data.source not in needs:
        raise ConfigError(
            f"method '{cfg.method.name}' trains on paired items: set data.source: "
            f"{' or '.join(needs)} (got '{cfg.data.source}')"
        )
    for arg in tower_args(cfg.method.name):
        spec = parse_tower(arg.key, cfg.method.args.get(arg.key))
        if spec.name is not None:
            BACKBONES.validate(spec.name, spec.args, f"method.{arg.key}")
            check_backbone(cfg.method.name, spec.name)
            _check_side(cfg, arg.side, _encodes(spec.name), f"method.{arg.key}")
    if cfg.data.source == PAIRS:
        _check_side(cfg, "a", _encodes(cfg.backbone.name), "backbone")


def build_towers(
    cfg: RunConfig, given: Mapping[str, Any], train_set: Callable[[], Any]
) -> dict[str, Backbone]:
    """Constructor arguments ``{key: backbone}`` of every tower. ``given["towers"][key]``
    holds what a checkpoint restores for it (a text tower's tokenizer)."""
    # Imported here: load.py rebuilds runs through build_method, which calls this.
    from selfsup.engine.load import load_method

    out: dict[str, Backbone] = {}
    saved = given.get("towers", {})
    for arg in tower_args(cfg.method.name):
        spec = parse_tower(arg.key, cfg.method.args.get(arg.key))
        if spec.path is not None:
            loaded, _ = load_method(spec.path)
            encoder = loaded.encoder()
            _check_side(cfg, arg.side, encoder.modality, f"method.{arg.key}.from")
            if cfg.data.source == PAIRS:
                check_pretrained_tokenizer(encoder, train_set(), arg.key)
            out[arg.key] = encoder.train()
            continue
        assert spec.name is not None
        modality = modality_of_backbone(spec.name)
        extra = modality.backbone_args(saved.get(arg.key, {}), train_set)
        out[arg.key] = BACKBONES.create(spec.name, **{**spec.args, **extra})
    return out


def saved_tower_args(
    method: str, state: Mapping[str, Any], cfg_args: Mapping[str, Any]
) -> dict[str, Any]:
    """What a checkpoint's ``state`` restores for each named tower (``given["towers"]``)."""
    out: dict[str, Any] = {}
    for arg in tower_args(method):
        spec = parse_tower(arg.key, cfg_args.get(arg.key))
        if spec.name is None:
            continue
        prefix = f"{arg.key}."
        sub = {"backbone." + k[len(prefix) :]: v for k, v in state.items() if k.startswith(prefix)}
        out[arg.key] = modality_of_backbone(spec.name).saved_backbone_args(sub)
    return out


def check_pretrained_tokenizer(tower: Backbone, train_set: Any, key: str) -> None:
    """A loaded text tower must read the ids its own tokenizer makes."""
    mine, data = getattr(tower, "tokenizer", None), getattr(train_set, "tokenizer", None)
    if getattr(tower, "modality", None) != "text" or mine is None or data is None:
        return
    if mine.to_json() != data.to_json():
        raise ConfigError(
            f"method.{key} was pretrained with another tokenizer than the pairs source trains; "
            "export the run (selfsup export RUN) and set the text side's tokenizer to its "
            "tokenizer.json"
        )


def _encodes(backbone: str) -> str | None:
    try:
        return backbone_class(backbone).modality
    except TypeError:  # a plug-in factory without a return annotation: not checked
        return None


def _check_side(cfg: RunConfig, side: str, modality: str | None, where: str) -> None:
    if cfg.data.source != PAIRS or modality is None:
        return
    sides = dict(zip("ab", pair_sides(cfg.data.args), strict=True))
    if sides[side] != modality:
        raise ConfigError(
            f"{where} encodes {modality} but data.{side} holds {sides[side]}: swap the sides "
            "or the towers"
        )

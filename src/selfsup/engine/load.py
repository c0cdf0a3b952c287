"""Rebuild a pretrained method from a checkpoint file or a run directory."""

from __future__ import annotations

import hashlib
from pathlib import Path

import torch

from selfsup.config.load import build_config
from selfsup.config.schema import RunConfig
from selfsup.engine.build import build_method
from selfsup.engine.checkpoint import latest_checkpoint
from selfsup.engine.module import CONFIG_KEY
from selfsup.engine.safe_load import read_checkpoint
from selfsup.engine.towers import saved_tower_args
from selfsup.methods.base import Method
from selfsup.modalities import modality_of_backbone
from selfsup.registry import ConfigError


def resolve_checkpoint(path: str | Path) -> Path:
    """A checkpoint file, or the latest checkpoint of a run directory."""
    p = Path(path)
    if p.is_dir():
        found = latest_checkpoint(p)
        if found is None:
            raise ConfigError(f"no checkpoint in run directory {p}")
        return found
    if not p.is_file():
        raise ConfigError(f"checkpoint not found: {p}")
    return p


def checkpoint_sha256(path: str | Path) -> str:
    """sha256 of a checkpoint file: what follows the weights, not the file's name."""
    digest = hashlib.sha256()
    with Path(path).open("rb") as f:
        for block in iter(lambda: f.read(1 << 20), b""):
            digest.update(block)
    return digest.hexdigest()


def load_method(
    path: str | Path, map_location: str | torch.device = "cpu"
) -> tuple[Method, RunConfig]:
    """The method (weights loaded, eval mode) and the config it was trained with."""
    ckpt_path = resolve_checkpoint(path)
    ckpt = read_checkpoint(ckpt_path, map_location)
    if CONFIG_KEY not in ckpt or not ckpt[CONFIG_KEY]:
        raise ConfigError(f"{ckpt_path} is not a selfsup checkpoint (no run config inside)")
    cfg = build_config(ckpt[CONFIG_KEY])
    state = {k.removeprefix("method."): v for k, v in ckpt["state_dict"].items()}
    # What the backbone needs beyond its config (text: the tokenizer) rides in the state.
    given = modality_of_backbone(cfg.backbone.name).saved_backbone_args(state)
    given["towers"] = saved_tower_args(cfg.method.name, state, cfg.method.args)
    method = build_method(cfg, **given)
    try:
        method.load_state_dict(state)
    except RuntimeError as e:  # another method's or shape's weights under this config
        reason = str(e).replace("\n", " ").replace("\t", "")
        raise ConfigError(f"{ckpt_path} does not match its own config: {reason[:300]}") from None
    return method.eval(), cfg

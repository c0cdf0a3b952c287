"""Each registered method's tiny test settings, read from its ``tiny`` registry metadata.

A method declares them on its decorator, e.g.
``@register_method("data2vec", tiny={"backbone": "vit_tiny", "args": {"top_k": 2}})``:

- ``backbone`` (required): the tiny backbone it trains on, a key of :data:`TINY_BACKBONES`.
- ``args``: extra constructor arguments (also ``method.*`` config keys in engine runs).
- ``embedding``: False when ``training_step`` legitimately returns no ``embedding`` (default
  True: then a missing embedding is a failure).
- ``methods``: constructor arguments that are other registered methods, built from their own
  tiny settings (BEiT's ``tokenizer_model``).
- ``runs``: ``method.*`` config keys that take the run directory of another registered
  method's tiny engine run (BEiT's ``tokenizer``).
- ``towers``: constructor arguments that are second backbones (CLIP's ``tower_b``), each a
  key of :data:`TINY_BACKBONES`; the batch then is a pairs batch, that tower's side under
  ``b.`` (:mod:`selfsup.data.pairs_batch`).

A registered method without this metadata fails :func:`tiny_spec`, so it fails the tests.
"""

from __future__ import annotations

import dataclasses
from typing import Any

import pytest
import torch

from method_helpers import random_batch
from selfsup.augment import create_augment
from selfsup.backbones import Backbone, create_backbone
from selfsup.data.tokenizers import train_tokenizer
from selfsup.methods import Batch, Method, create_method
from selfsup.methods.base import method_modalities
from selfsup.methods.registry import METHODS
from selfsup.modalities import get_modality

TEXT = "the quick brown fox jumps over the lazy dog, again and again."
TINY_TEXT = {"dim": 32, "depth": 2, "heads": 2, "max_len": 16}
TINY_AUDIO = {
    "sample_rate": 8000,
    "conv_dim": 32,
    "dim": 32,
    "depth": 2,
    "heads": 2,
    "ffn_dim": 64,
    "pos_conv_kernel": 8,
    "pos_conv_groups": 4,
}
TINY_CLUSTERS = 16  # frame labels of the tiny audio batch lie in [0, TINY_CLUSTERS)
TINY_AUDIO_VIT = {
    "sample_rate": 8000,
    "dim": 32,
    "depth": 2,
    "heads": 2,
    "n_mels": 16,
    "patch_size": 4,
}
TINY_WAV2VEC2 = {**TINY_AUDIO, "conv_dim": 16, "dropout": 0.0, "pos_conv_groups": 2}

# Tiny backbone -> (modality of its input, constructor arguments for a 16 px / 16 token batch).
TINY_BACKBONES: dict[str, tuple[str, dict[str, Any]]] = {
    "resnet_tiny": ("image", {}),
    "vit_tiny": ("image", {"img_size": 16, "patch_size": 4, "depth": 2}),
    "text_encoder_tiny": ("text", TINY_TEXT),
    "text_decoder_tiny": ("text", TINY_TEXT),
    "audio_vit_tiny": ("audio", TINY_AUDIO_VIT),
    "wav2vec2_tiny": ("audio", TINY_AUDIO),
}
KNOWN_KEYS = {"backbone", "args", "embedding", "methods", "runs", "towers"}


@dataclasses.dataclass(frozen=True)
class TinySpec:
    """A method's validated ``tiny`` metadata."""

    backbone: str
    modality: str
    args: dict[str, Any]
    embedding: bool
    methods: dict[str, str]
    runs: dict[str, str]
    towers: dict[str, str]


def tiny_spec(name: str) -> TinySpec:
    """The ``tiny`` metadata of method ``name``; fails the test if it is missing or malformed."""
    tiny = METHODS.tags(name).get("tiny")
    if not isinstance(tiny, dict) or "backbone" not in tiny:
        pytest.fail(
            f"method '{name}' declares no tiny test settings: add tiny={{'backbone': ...}} "
            "to its @register_method (see tests/tiny_methods.py)"
        )
    unknown = set(tiny) - KNOWN_KEYS
    assert not unknown, f"method '{name}': unknown tiny keys {sorted(unknown)}"
    backbone = tiny["backbone"]
    assert backbone in TINY_BACKBONES, f"method '{name}': no tiny settings for '{backbone}'"
    modality = TINY_BACKBONES[backbone][0]
    declared = method_modalities(METHODS.get(name))
    assert modality in declared, f"method '{name}' is {declared}, its tiny backbone {modality}"
    return TinySpec(
        backbone=backbone,
        modality=modality,
        args=dict(tiny.get("args", {})),
        embedding=bool(tiny.get("embedding", True)),
        methods=dict(tiny.get("methods", {})),
        runs=dict(tiny.get("runs", {})),
        towers=dict(tiny.get("towers", {})),
    )


def tiny_backbone(spec: TinySpec) -> tuple[Backbone, Batch]:
    """The method's tiny backbone and a batch of 8 inputs for it."""
    return backbone_and_batch(spec.backbone)


def backbone_and_batch(name: str) -> tuple[Backbone, Batch]:
    """Tiny backbone ``name`` (a key of :data:`TINY_BACKBONES`) and a batch of 8 inputs."""
    modality, kwargs = TINY_BACKBONES[name]
    kwargs = dict(kwargs)
    if modality == "image":
        return create_backbone(name, **kwargs), random_batch()
    if modality == "audio":
        backbone = create_backbone(name, **kwargs)
        return backbone, audio_batch(backbone)
    tok = train_tokenizer([TEXT])
    ids = torch.tensor([tok.encode(TEXT)[i : i + 16] for i in range(0, 32, 4)])
    backbone = create_backbone(name, tokenizer=tok, **kwargs)
    return backbone, {"input": ids, "label": torch.full((len(ids),), -1)}


def audio_batch(backbone: Backbone, n: int = 8, samples: int = 8000) -> Batch:
    """``n`` noise clips of up to ``samples`` samples (NaN-padded), with ``length`` and
    random per-frame cluster labels (``frame_labels``, -1 past each clip's frames)."""
    gen = torch.Generator().manual_seed(0)
    clips = get_modality("audio").tiny_input(backbone, n, samples, gen)
    valid = backbone.valid_tokens(clips)  # type: ignore[attr-defined]
    labels = torch.randint(0, TINY_CLUSTERS, valid.shape, generator=gen).masked_fill(~valid, -1)
    lengths = (~clips.isnan()).sum(1)
    return {
        "input": clips,
        "length": lengths,
        "label": torch.full((n,), -1),
        "frame_labels": labels,
    }


def build_tiny(name: str) -> tuple[Method, Batch]:
    """Method ``name`` on its tiny backbone, built from its metadata, and a batch for it."""
    spec = tiny_spec(name)
    backbone, batch = tiny_backbone(spec)
    augment = create_augment("simclr", size=16) if spec.modality == "image" else None
    kwargs: dict[str, Any] = {arg: build_tiny(other)[0] for arg, other in spec.methods.items()}
    for arg, tower in spec.towers.items():  # pairs: this tower's inputs ride under "b."
        kwargs[arg], side = backbone_and_batch(tower)
        batch = {**batch, "b.input": side["input"]}
    method = create_method(name, backbone=backbone, augment=augment, **spec.args, **kwargs)
    return method, batch

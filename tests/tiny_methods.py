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
from selfsup.nn.audio_padding import pad_clips

TEXT = "the quick brown fox jumps over the lazy dog, again and again."
TINY_TEXT = {"dim": 32, "depth": 2, "heads": 2, "max_len": 16}
TINY_AUDIO = {"sample_rate": 8000, "dim": 32, "depth": 2, "heads": 2}
TINY_AUDIO_VIT = {**TINY_AUDIO, "n_mels": 16, "patch_size": 4}
TINY_WAV2VEC2 = {**TINY_AUDIO, "conv_dim": 16, "ffn_dim": 64, "dropout": 0.0, "pos_conv_kernel": 8, "pos_conv_groups": 2}

# Tiny backbone -> (modality of its input, constructor arguments for a 16 px / 16 token batch).
TINY_BACKBONES: dict[str, tuple[str, dict[str, Any]]] = {
    "resnet_tiny": ("image", {}),
    "vit_tiny": ("image", {"img_size": 16, "patch_size": 4, "depth": 2}),
    "text_encoder_tiny": ("text", TINY_TEXT),
    "text_decoder_tiny": ("text", TINY_TEXT),
    "audio_vit_tiny": ("audio", TINY_AUDIO_VIT),
    "wav2vec2_tiny": ("audio", TINY_WAV2VEC2),
}
KNOWN_KEYS = {"backbone", "args", "embedding", "methods", "runs"}


@dataclasses.dataclass(frozen=True)
class TinySpec:
    """A method's validated ``tiny`` metadata."""

    backbone: str
    modality: str
    args: dict[str, Any]
    embedding: bool
    methods: dict[str, str]
    runs: dict[str, str]


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
    )


def audio_batch(n: int = 8, seconds: float = 0.5, rate: int = 8000) -> Batch:
    """``n`` random clips of up to ``seconds`` at ``rate``, of different lengths, NaN-padded."""
    gen = torch.Generator().manual_seed(0)
    longest = int(seconds * rate)
    lengths = torch.linspace(longest // 2, longest, n).long()
    clips = [0.1 * torch.randn(int(t), generator=gen) for t in lengths]
    return {"input": pad_clips(clips), "length": lengths, "label": torch.full((n,), -1)}


def tiny_backbone(spec: TinySpec) -> tuple[Backbone, Batch]:
    """The method's tiny backbone and a batch of 8 inputs for it."""
    kwargs = dict(TINY_BACKBONES[spec.backbone][1])
    if spec.modality == "image":
        return create_backbone(spec.backbone, **kwargs), random_batch()
    if spec.modality == "audio":
        return create_backbone(spec.backbone, **kwargs), audio_batch()
    tok = train_tokenizer([TEXT])
    ids = torch.tensor([tok.encode(TEXT)[i : i + 16] for i in range(0, 32, 4)])
    backbone = create_backbone(spec.backbone, tokenizer=tok, **kwargs)
    return backbone, {"input": ids, "label": torch.full((len(ids),), -1)}


def build_tiny(name: str) -> tuple[Method, Batch]:
    """Method ``name`` on its tiny backbone, built from its metadata, and a batch for it."""
    spec = tiny_spec(name)
    backbone, batch = tiny_backbone(spec)
    augment = create_augment("simclr", size=16) if spec.modality == "image" else None
    kwargs = {arg: build_tiny(other)[0] for arg, other in spec.methods.items()}
    method = create_method(name, backbone=backbone, augment=augment, **spec.args, **kwargs)
    return method, batch

"""Config -> objects: names, arguments and method/backbone compatibility are checked first."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest
from torch import nn

from selfsup.backbones.base import Backbone
from selfsup.backbones.registry import BACKBONES
from selfsup.config.load import load_config
from selfsup.engine.build import build_method, build_split
from selfsup.methods.base import Method
from selfsup.methods.registry import METHODS
from selfsup.registry import ConfigError

BASE = ["backbone.name=resnet_tiny", "augment.name=simclr", "method.name=simclr"]


@pytest.fixture
def token_method() -> Iterator[str]:
    class NeedsTokens(Method):
        """A stand-in for masked-token methods."""

        requires_tokens = True

        def __init__(self, backbone: nn.Module, augment: nn.Module) -> None:
            super().__init__(backbone)  # type: ignore[arg-type]

    METHODS.register("needs_tokens_probe")(NeedsTokens)
    yield "needs_tokens_probe"
    METHODS.unregister("needs_tokens_probe")


def test_token_method_on_a_cnn_is_a_config_error(token_method: str) -> None:
    cfg = load_config(None, [*BASE, f"method.name={token_method}"])
    with pytest.raises(ConfigError, match="needs a backbone with tokens; 'resnet_tiny' has none"):
        build_method(cfg)
    cfg = load_config(
        None,
        [
            *BASE,
            f"method.name={token_method}",
            "backbone.name=vit_tiny",
            "backbone.img_size=32",
            "backbone.patch_size=4",
        ],
    )
    assert build_method(cfg).backbone.has_tokens


def test_wrong_argument_types_are_caught_before_building() -> None:
    cfg = load_config(None, [*BASE, "backbone.cifar_stem=maybe"])
    with pytest.raises(ConfigError, match=r"'backbone\.cifar_stem' expects bool"):
        build_method(cfg)
    cfg = load_config(None, [*BASE, "augment.sise=32"])
    with pytest.raises(ConfigError, match="did you mean 'size'"):
        build_method(cfg)


def test_missing_data_path_is_one_line() -> None:
    cfg = load_config(None, [*BASE, "data.source=folder", "data.path=/nowhere/at/all"])
    with pytest.raises(ConfigError, match="/nowhere/at/all"):
        build_split(cfg, "train")


def test_a_text_method_on_the_wrong_kind_of_text_backbone_fails_before_reading_data() -> None:
    text = ["data.source=text", "data.path=no/such/corpus.txt", "augment.name=none"]
    cfg = load_config(None, [*text, "method.name=gpt", "backbone.name=text_encoder_tiny"])
    with pytest.raises(ConfigError, match=r"causal=True; .* \(it takes text_decoder_\*\)"):
        build_method(cfg)  # the corpus does not exist: the error comes before any reading
    cfg = load_config(None, [*text, "method.name=bert_mlm", "backbone.name=text_decoder_tiny"])
    with pytest.raises(ConfigError, match=r"\(it takes text_encoder_\*\)"):
        build_method(cfg)
    cfg = load_config(None, [*text, "method.name=gpt", "backbone.name=resnet_tiny"])
    with pytest.raises(ConfigError, match="works on text but backbone 'resnet_tiny' encodes image"):
        build_method(cfg)


def test_shards_take_the_run_seed_unless_data_seed_is_set(tmp_path: Path) -> None:
    from selfsup.data.shard_writer import write_shards

    write_shards([(b"x", "png", 0)], tmp_path, samples_per_shard=1)
    shards = [*BASE, "data.source=shards", f"data.path={tmp_path}", "train.seed=11"]
    assert build_split(load_config(None, shards), "train").seed == 11
    assert build_split(load_config(None, [*shards, "data.seed=3"]), "train").seed == 3
    with pytest.raises(ConfigError, match=r"data\.shuffle_buffer must be >= 1"):
        build_split(load_config(None, [*shards, "data.shuffle_buffer=0"]), "train")


class AudioStub(Backbone):
    """Stands in for an audio backbone: only its modality is read before building."""

    modality = "audio"


def audio_stub() -> AudioStub:
    return AudioStub()


def test_a_recipe_of_the_wrong_modality_fails_before_building() -> None:
    cfg = load_config(None, [*BASE, "augment.name=audio_contrastive"])
    with pytest.raises(
        ConfigError, match=r"'audio_contrastive' makes audio views but the backbone"
    ):
        build_method(cfg)
    BACKBONES.register("audio_stub_probe")(audio_stub)
    try:
        cfg = load_config(None, [*BASE, "backbone.name=audio_stub_probe"])
        with pytest.raises(ConfigError, match=r"encodes audio \(recipes for audio: audio_contr"):
            build_method(cfg)
    finally:
        BACKBONES.unregister("audio_stub_probe")

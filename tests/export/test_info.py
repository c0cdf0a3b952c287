"""selfsup-encoder.json: complete constructor keywords, round trips, and refusal of fields
that do not describe a registered backbone."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from export_helpers import tiny_backbone
from selfsup.export.info import EncoderInfo, full_backbone_kwargs
from selfsup.registry import ConfigError


def test_kwargs_hold_every_factory_keyword() -> None:
    kwargs = full_backbone_kwargs("vit_tiny", {"img_size": 32, "patch_size": 4})
    assert kwargs["img_size"] == 32 and kwargs["pool"] == "cls" and kwargs["depth"] is None
    text = full_backbone_kwargs("text_encoder_tiny", {"dim": 32, "tokenizer": object()})
    assert "tokenizer" not in text and text["dim"] == 32 and text["max_len"] == 512


def test_image_and_text_fields() -> None:
    _, vit = tiny_backbone("vit_tiny")
    assert vit.patch_size == 4 and vit.feature_dim == 192 and vit.modality == "image"
    assert vit.input["size"] == 16 and vit.input["channels"] == 3 and len(vit.input["std"]) == 3
    assert vit.input["mean"] == [0.4914, 0.4822, 0.4465]  # written as given, not 0.49140000…
    _, text = tiny_backbone("text_encoder_tiny")
    assert text.modality == "text" and text.patch_size is None and text.input["max_len"] == 16
    assert text.text is not None and text.text["tokenizer"] == "tokenizer.json"
    assert text.text["vocab_size"] > 6 and text.text["pad_id"] == 0
    import selfsup

    assert text.selfsup_version == selfsup.__version__


def test_write_then_read_gives_the_same_info(tmp_path: Path) -> None:
    _, info = tiny_backbone("resnet_tiny")
    info.write(tmp_path)
    assert EncoderInfo.read(tmp_path) == info


@pytest.mark.parametrize(
    ("change", "words"),
    [
        ({"backbone": "resnet_huge"}, "unknown backbone 'resnet_huge'"),
        ({"backbone_kwargs": {"cifar_stm": True}}, "unknown key 'backbone.cifar_stm'"),
        ({"backbone_kwargs": {"in_chans": "three"}}, "'backbone.in_chans' expects int"),
        ({"feature_dim": "256"}, "'feature_dim' must be an integer"),
        ({"surprise": 1}, "unknown fields ['surprise']"),
        ({"upstream": [1]}, "'upstream' must be an object"),
    ],
)
def test_a_crafted_json_gets_one_line(change: dict, words: str, tmp_path: Path) -> None:
    _, info = tiny_backbone("resnet_tiny")
    data = {**info.to_dict(), **change}
    (tmp_path / "selfsup-encoder.json").write_text(json.dumps(data))
    with pytest.raises(ConfigError) as e:
        EncoderInfo.read(tmp_path)
    assert words in str(e.value) and "\n" not in str(e.value)


def test_not_json_gets_one_line(tmp_path: Path) -> None:
    (tmp_path / "selfsup-encoder.json").write_bytes(b"\x80\x04pickle")
    with pytest.raises(ConfigError, match="cannot read"):
        EncoderInfo.read(tmp_path)

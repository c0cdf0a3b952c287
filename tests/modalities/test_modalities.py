"""Modality specs: every backbone's modality is registered; each spec's evaluation sets,
fine-tuning views, collate hint and checkpoint inputs."""

from __future__ import annotations

from pathlib import Path

import pytest
import torch

from selfsup.augment.batch_crop import random_crop_flip
from selfsup.backbones import create_backbone, list_backbones
from selfsup.modalities import (
    Modality,
    get_modality,
    list_modalities,
    modality_of,
    modality_of_backbone,
)
from selfsup.registry import ConfigError

TINY_TEXT = {"dim": 16, "depth": 1, "heads": 2, "max_len": 8}


def _expected_modality(name: str) -> str:
    if name.startswith("text"):
        return "text"
    return "audio" if name.startswith(("audio", "wav2vec2")) else "image"


def test_every_backbone_names_a_registered_modality_before_and_after_building() -> None:
    assert {"image", "text"} <= set(list_modalities())
    for name in list_backbones():
        expected = _expected_modality(name)
        if expected not in list_modalities():  # audio backbones before modalities/audio.py
            continue
        assert modality_of_backbone(name) is get_modality(expected)
    built = create_backbone("resnet_tiny")
    assert modality_of(built) is modality_of_backbone("resnet_tiny")
    with pytest.raises(ConfigError, match=r"unknown modality 'imag'.*'image'"):
        get_modality("imag")


def test_image_spec_reads_digits_and_names_missing_folders() -> None:
    image = get_modality("image")
    encoder = create_backbone("resnet_tiny")
    assert len(image.eval_dataset("digits:test", encoder, None, 0.1)) == 450  # type: ignore[arg-type]
    with pytest.raises(ConfigError, match="data not found: /nonexistent"):
        image.eval_dataset("/nonexistent@val", encoder, 32, 0.1)


def test_image_view_is_the_batched_crop_flip_and_text_view_keeps_ids() -> None:
    x = torch.randint(0, 256, (4, 3, 8, 8), dtype=torch.uint8)
    out = get_modality("image").finetune_view(x, 0.5, True, torch.Generator().manual_seed(0))
    assert torch.equal(out, random_crop_flip(x, 0.5, True, torch.Generator().manual_seed(0)))
    ids = torch.arange(12).view(2, 6)
    assert get_modality("text").finetune_view(ids, 0.5, True, torch.Generator()) is ids


def test_text_spec_reads_a_tsv_with_the_encoders_tokenizer(tmp_path: Path) -> None:
    text = get_modality("text")
    encoder = create_backbone("text_encoder_tiny", **text.tiny_backbone_args(), **TINY_TEXT)
    tsv = tmp_path / "dev.tsv"
    tsv.write_text("content\tlabel\na tiny corpus\t1\nwords and more letters\t0\n")
    ds = text.eval_dataset(str(tsv), encoder, None, 0.1)
    items = [ds[i] for i in range(len(ds))]  # type: ignore[arg-type]
    assert [item["label"] for item in items] == [1, 0]
    assert all(item["input"].shape == (8,) for item in items)  # capped at the encoder's max_len
    with pytest.raises(ConfigError, match="text data not found"):
        text.eval_dataset(str(tmp_path / "missing.tsv"), encoder, None, 0.1)
    with pytest.raises(ConfigError, match="carries no tokenizer"):
        text.eval_dataset(str(tsv), create_backbone("resnet_tiny"), None, 0.1)


def test_text_backbone_inputs_come_from_the_caller_a_checkpoint_or_the_data() -> None:
    text = get_modality("text")
    tok = text.tiny_backbone_args()["tokenizer"]
    encoder = create_backbone("text_encoder_tiny", tokenizer=tok, **TINY_TEXT)
    state = {f"backbone.{k}": v for k, v in encoder.state_dict().items()}  # a method's keys
    saved = text.saved_backbone_args(state)
    assert saved["tokenizer"].to_json() == tok.to_json()
    assert text.backbone_args({"tokenizer": tok}, lambda: pytest.fail("data was read")) == {
        "tokenizer": tok
    }
    assert get_modality("image").saved_backbone_args(state) == {}


def test_a_mistyped_digits_split_names_the_real_ones() -> None:
    from selfsup.data.eval_images import image_dataset_from_spec
    from selfsup.registry import ConfigError

    with pytest.raises(ConfigError) as err:
        image_dataset_from_spec("digits:trian", None, 0.1)
    message = str(err.value)
    assert "train, test (also called val) and all" in message and "did you mean 'train'" in message
    assert len(image_dataset_from_spec("digits:test", None, 0.1)) == 450


def test_embed_sources_come_from_the_encoders_modality(tmp_path: Path) -> None:
    image = get_modality("image")
    assert len(image.item_source("digits:test", create_backbone("resnet_tiny"), None, 0.1)) == 450
    text = get_modality("text")
    encoder = create_backbone("text_encoder_tiny", **text.tiny_backbone_args(), **TINY_TEXT)
    lines = tmp_path / "notes.txt"
    lines.write_text("a tiny corpus of letters and more words than eight\nwords\n")
    source = text.item_source(str(lines), encoder, None, 0.1)
    assert source[0]["item"]["input"].shape == (8,)  # type: ignore[index]  # encoder's max_len

    class Silent(type(image)):  # type: ignore[misc]
        """A modality (audio, say) that has no item source yet."""

        item_source = Modality.item_source

    with pytest.raises(ConfigError, match="Silent data cannot be embedded yet"):
        Silent().item_source("x", create_backbone("resnet_tiny"), None, 0.1)

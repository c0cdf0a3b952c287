"""One image size: data.size, augment.size and a ViT's img_size move together."""

from __future__ import annotations

import logging
from pathlib import Path

import pytest

from selfsup.config.load import load_config

PRESETS = Path(__file__).resolve().parents[2] / "configs"


def test_data_size_alone_moves_the_views_and_the_vit() -> None:
    cfg = load_config(PRESETS / "mae-cifar10-cpu.yaml", ["data.size=64"])
    assert cfg.data.args["size"] == 64
    assert cfg.augment.args["size"] == 64 and cfg.backbone.args["img_size"] == 64


def test_augment_size_alone_moves_the_decoding(caplog: pytest.LogCaptureFixture) -> None:
    with caplog.at_level(logging.INFO, logger="selfsup"):
        cfg = load_config(PRESETS / "simclr-cifar10-cpu.yaml", ["augment.size=64"])
    assert cfg.data.args["size"] == 64 and cfg.augment.args["size"] == 64
    assert "augment.size=64: data.size follows it" in caplog.text
    assert "upsample" not in caplog.text


def test_sizes_set_apart_on_purpose_stay_and_upsampling_is_named(
    caplog: pytest.LogCaptureFixture,
) -> None:
    with caplog.at_level(logging.INFO, logger="selfsup"):
        cfg = load_config(PRESETS / "simclr-cifar10-cpu.yaml", ["data.size=32", "augment.size=64"])
    assert cfg.data.args["size"] == 32 and cfg.augment.args["size"] == 64
    assert "augment.size 64 is larger than data.size 32: views upsample" in caplog.text


def test_a_preset_with_distinct_sizes_is_not_linked() -> None:
    cfg = load_config(PRESETS / "quickstart-digits.yaml", ["augment.size=24"])
    assert "size" not in cfg.data.args and cfg.augment.args["size"] == 24

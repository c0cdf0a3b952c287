"""Small folders: a batch larger than the data names both numbers and a batch that fits; an
unlabeled folder keeps every image for training."""

from __future__ import annotations

import logging
from pathlib import Path

import pytest
import torch
from PIL import Image

from selfsup.config.load import load_config
from selfsup.engine.run import pretrain
from selfsup.registry import ConfigError


def image_folder(root: Path, n: int) -> Path:
    root.mkdir(parents=True)
    gen = torch.Generator().manual_seed(0)
    for i in range(n):
        pixels = torch.randint(0, 256, (16, 16, 3), generator=gen, dtype=torch.uint8)
        Image.fromarray(pixels.numpy()).save(root / f"{i:03d}.png")
    return root


def folder_run(data: Path, *extra: str) -> list[str]:
    return [
        "data.source=folder",
        f"data.path={data}",
        "data.size=16",
        "backbone.name=resnet_tiny",
        "augment.name=simclr",
        "augment.size=16",
        "method.name=simclr",
        "method.proj_hidden_dim=16",
        "method.proj_out_dim=8",
        "optim.warmup_epochs=0",
        "train.progress=false",
        "eval.knn_every_n_epochs=0",
        *extra,
    ]


def test_a_batch_larger_than_the_data_names_the_sizes_and_a_fix(tmp_path: Path) -> None:
    data = image_folder(tmp_path / "images", 40)
    cfg = load_config(None, folder_run(data, "data.batch_size=256", "train.max_epochs=1"))
    with pytest.raises(ConfigError) as e:
        pretrain(cfg, run_dir=tmp_path / "run")
    message = str(e.value)
    assert "data.batch_size 256 is larger than the 40 training items per device" in message
    assert "set data.batch_size=16 or lower" in message and "\n" not in message


def test_an_unlabeled_folder_holds_nothing_out(
    tmp_path: Path, caplog: pytest.LogCaptureFixture
) -> None:
    data = image_folder(tmp_path / "images", 40)
    cfg = load_config(
        None,
        folder_run(data, "data.batch_size=8", "data.val_fraction=0.5", "train.max_epochs=1"),
    )
    with caplog.at_level(logging.INFO, logger="selfsup"):
        result = pretrain(cfg, run_dir=tmp_path / "run")
    assert result.global_step == 5  # all 40 images in batches of 8, none held out
    assert "training on all 40 images" in caplog.text

"""train.whiten_stem_images: the run starts from a whitened stem; ViTs get a config error."""

from __future__ import annotations

from pathlib import Path

import pytest
import torch

from run_helpers import tiny_digits_simclr
from selfsup.config.load import load_config
from selfsup.engine.build import build_method, build_split
from selfsup.engine.run import pretrain
from selfsup.engine.stem_init import whiten_stem
from selfsup.nn.whitening import patch_whitening_filters
from selfsup.registry import ConfigError


def test_pretrain_starts_from_the_whitened_stem(tmp_path: Path) -> None:
    overrides = [*tiny_digits_simclr(), "train.max_steps=1", "optim.base_lr=1e-4"]
    cfg = load_config(None, [*overrides, "train.whiten_stem_images=300"])
    result = pretrain(cfg, run_dir=tmp_path / "run")
    stem = result.method.backbone.stem_conv().weight.detach()

    method = build_method(cfg)
    sample = build_split(cfg, "train")
    order = torch.randperm(len(sample), generator=torch.Generator().manual_seed(0))[:300]
    x = method.eval_input(torch.stack([sample[int(i)]["input"] for i in order]))
    # grey digits in 3 equal channels: 9 patch directions carry data, the rest are arbitrary
    expected = patch_whitening_filters(x.float(), 3, 9)
    rows = [*range(9), *range(16, 25)]  # filters f_0..f_8 and their negatives
    signed = torch.cat([expected, -expected])
    # one tiny step later the stem is still the whitening filters (up to a filter's sign)
    err = torch.minimum((stem[rows] - signed).abs(), (stem[rows] + signed).abs()).amax()
    assert err < 0.02 * signed.abs().max()

    plain = pretrain(load_config(None, overrides), run_dir=tmp_path / "plain")
    assert (plain.method.backbone.stem_conv().weight[rows] - signed).abs().amax() > 0.1


def test_backbone_without_conv_stem_is_a_config_error() -> None:
    cfg = load_config(
        None,
        [
            *tiny_digits_simclr(),
            "backbone.name=vit_tiny",
            "backbone.img_size=8",
            "backbone.patch_size=4",
            "backbone.depth=1",
        ],
    )
    method = build_method(cfg)
    with pytest.raises(ConfigError, match="needs a conv stem"):
        whiten_stem(method, build_split(cfg, "train"), 10, 0)


def test_negative_image_count_is_rejected() -> None:
    with pytest.raises(ConfigError, match="whiten_stem_images must be >= 0"):
        load_config(None, [*tiny_digits_simclr(), "train.whiten_stem_images=-1"])

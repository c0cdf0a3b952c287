"""Fine-tuning: reaches 100% on a separable toy set, keeps the caller's encoder, LR groups."""

from __future__ import annotations

import pytest
import torch

from selfsup.augment.batch_crop import random_crop_flip
from selfsup.backbones import create_backbone
from selfsup.eval.finetune import FinetuneConfig, finetune
from selfsup.eval.finetune_parts import finetune_param_groups
from toy_images import scale, toy_set


def test_separable_toy_set_reaches_100_percent_and_encoder_is_untouched() -> None:
    torch.manual_seed(0)
    encoder = create_backbone("resnet_tiny")
    before = {k: v.clone() for k, v in encoder.state_dict().items()}
    cfg = FinetuneConfig(
        epochs=4,
        batch_size=16,
        warmup_epochs=0.5,
        patience=4,
        seed=0,
        num_threads=1,
    )
    result = finetune(encoder, scale, toy_set(64, 0, noise=20.0), toy_set(40, 1, noise=20.0), cfg)
    assert result.test_accuracy_best == 1.0
    assert result.best_val_accuracy == 1.0
    assert len(result.val_history) == result.epochs_run <= 4
    assert all(torch.equal(before[k], v) for k, v in encoder.state_dict().items())


def test_mixup_path_trains_and_early_stopping_stops() -> None:
    torch.manual_seed(0)
    cfg = FinetuneConfig(
        epochs=6,
        batch_size=16,
        mixup_alpha=0.4,
        cutmix_alpha=0.4,
        patience=1,
        seed=1,
        num_threads=1,
    )
    result = finetune(
        create_backbone("resnet_tiny"),
        scale,
        toy_set(48, 2, noise=20.0),
        toy_set(20, 3, noise=20.0),
        cfg,
    )
    # patience=1: stop the first epoch that fails to beat the best; never more than 6 epochs
    hist = result.val_history
    for e in range(1, len(hist) - 1):
        assert max(hist[: e + 1]) > max(hist[:e])  # every epoch before the last improved
    assert 0.0 <= result.test_accuracy_final <= 1.0


def test_vit_layer_decay_scales_block_lrs_geometrically() -> None:
    vit = create_backbone("vit_tiny", img_size=32, patch_size=8)
    head = torch.nn.Linear(vit.feature_dim, 3)
    groups = finetune_param_groups(vit, head, 1e-3, 1e-2, 0.05, 0.5)
    lr_of = {id(p): g["lr"] for g in groups for p in g["params"]}
    blocks = vit.model.blocks  # type: ignore[union-attr]
    depth = len(blocks)
    for i, block in enumerate(blocks):
        # the last block trains at the encoder LR, each earlier one at half the next
        expected = 1e-3 * 0.5 ** (depth - 1 - i)
        assert all(lr_of[id(p)] == pytest.approx(expected) for p in block.parameters())
    assert all(lr_of[id(p)] == 1e-2 for p in head.parameters())
    n_params = sum(p.numel() for g in groups for p in g["params"])
    trainable = [p for p in [*vit.parameters(), *head.parameters()] if p.requires_grad]
    assert n_params == sum(p.numel() for p in trainable)  # all but the unused mask token


def test_crop_flip_without_crop_is_an_exact_mirror() -> None:
    x = torch.randint(0, 256, (64, 3, 6, 6), dtype=torch.uint8)
    out = random_crop_flip(x, 1.0, True, torch.Generator().manual_seed(0))
    flipped = (out == x.flip(-1)).flatten(1).all(1)
    same = (out == x).flatten(1).all(1)
    assert bool((flipped | same).all()) and 10 < int(flipped.sum()) < 54


def test_bad_settings_fail_with_one_line() -> None:
    with pytest.raises(ValueError, match="layer_decay"):
        FinetuneConfig(layer_decay=0.0).check()
    with pytest.raises(ValueError, match="validation split"):
        x, y = toy_set(2, 0, noise=20.0)
        finetune(create_backbone("resnet_tiny"), scale, (x, y), (x, y), FinetuneConfig())

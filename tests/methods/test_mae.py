"""MAE: visible-only encoding, masked-only loss, staged forward, short training runs."""

from __future__ import annotations

import pytest
import torch

from method_helpers import random_batch, train_steps
from selfsup.augment import (
    create_augment,
    minimal,  # noqa: F401  (registers "crop_flip")
)
from selfsup.backbones import create_backbone
from selfsup.methods.masked.mae import MAE
from selfsup.methods.registry import create_method
from selfsup.nn.masking import patchify


def mae(mask_ratio: float = 0.75, norm_pix_loss: bool = True, depth: int = 2) -> MAE:
    torch.manual_seed(0)
    backbone = create_backbone("vit_tiny", img_size=16, patch_size=4, depth=depth)
    method = create_method(
        "mae",
        backbone=backbone,
        augment=create_augment("crop_flip", size=16),
        mask_ratio=mask_ratio,
        decoder_dim=32,
        decoder_depth=1,
        decoder_heads=4,
        norm_pix_loss=norm_pix_loss,
    )
    assert isinstance(method, MAE)
    return method


@pytest.mark.parametrize("ratio", [0.75, 0.5, 0.9])
def test_encoder_sees_only_round_n_times_one_minus_ratio_tokens(ratio: float) -> None:
    method = mae(ratio)
    seen: list[int] = []
    method.backbone.model.blocks[0].register_forward_pre_hook(
        lambda _m, args: seen.append(args[0].shape[1])
    )
    method.training_step(random_batch(16, 4), torch.Generator().manual_seed(0))
    assert seen == [1 + round(16 * (1 - ratio))]


def test_decoder_output_at_visible_positions_does_not_change_the_loss() -> None:
    method = mae()
    images = torch.randn(2, 3, 16, 16)
    keep_idx, mask, restore_idx = method.mask(2, torch.Generator().manual_seed(0))
    pred = method.decode(method.encode(images, keep_idx), restore_idx)
    loss = method.loss(images, pred, mask)
    altered = torch.where(mask.unsqueeze(-1), pred, torch.randn_like(pred) * 50)
    assert torch.equal(method.loss(images, altered, mask), loss)
    # Reference: the masked patches' per-patch normalised MSE, computed directly.
    target = patchify(images, 4)
    target = (target - target.mean(-1, keepdim=True)) / (
        target.var(-1, keepdim=True, unbiased=False) + 1e-6
    ).sqrt()
    ref = ((pred - target) ** 2).mean(-1)[mask].mean()
    torch.testing.assert_close(loss, ref)


def test_same_generator_gives_same_loss() -> None:
    method = mae().eval()
    batch = random_batch(16, 4)
    a = method.training_step(batch, torch.Generator().manual_seed(5))["loss"]
    b = method.training_step(batch, torch.Generator().manual_seed(5))["loss"]
    c = method.training_step(batch, torch.Generator().manual_seed(6))["loss"]
    assert torch.equal(a, b) and not torch.equal(a, c)


@pytest.mark.parametrize(("ratio", "norm_pix"), [(0.75, True), (0.5, False)])
def test_five_steps_lower_the_loss(ratio: float, norm_pix: bool) -> None:
    method = mae(ratio, norm_pix)
    batch = random_batch(16, 8)
    opt = torch.optim.AdamW(method.parameters(), lr=1e-3)
    first = float(method.training_step(batch, torch.Generator().manual_seed(0))["loss"].detach())
    out = train_steps(method, batch, opt, steps=5)
    assert out["embedding"].shape == (8, 192)
    assert float(out["loss"].detach()) < first


def test_rejects_non_vit_and_bad_ratio() -> None:
    resnet = create_backbone("resnet_tiny")
    with pytest.raises(ValueError, match="needs a ViT backbone"):
        MAE(resnet, create_augment("crop_flip"))
    vit = create_backbone("vit_tiny", img_size=16, patch_size=4, depth=1)
    with pytest.raises(ValueError, match="mask_ratio must be in"):
        MAE(vit, create_augment("crop_flip"), mask_ratio=1.0)

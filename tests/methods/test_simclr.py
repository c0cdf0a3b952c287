"""SimCLR with multi-crop views: one backbone pass per crop size, every view in the loss."""

from __future__ import annotations

import pytest
import torch

from selfsup.augment import create_augment
from selfsup.backbones import create_backbone
from selfsup.losses import NTXentLoss
from selfsup.methods import create_method


def make(augment: torch.nn.Module) -> torch.nn.Module:
    torch.manual_seed(0)
    backbone = create_backbone("resnet_tiny")
    return create_method(
        "simclr", backbone=backbone, augment=augment, proj_hidden_dim=32, temperature=0.2
    )


def images(n: int = 6) -> dict[str, torch.Tensor]:
    gen = torch.Generator().manual_seed(0)
    x = torch.randint(0, 256, (n, 3, 16, 16), dtype=torch.uint8, generator=gen)
    return {"input": x, "label": torch.full((n,), -1)}


def test_multicrop_loss_is_nt_xent_over_all_views_and_every_crop_gets_gradient() -> None:
    augment = create_augment("multicrop", global_size=16, local_size=8, num_local=3)
    method = make(augment)
    views = method.views(images(), torch.Generator().manual_seed(1))
    assert [v.shape[-1] for v in views] == [16, 16, 8, 8, 8]
    leaves = [v.clone().requires_grad_() for v in views]
    method.views = lambda batch, generator=None: leaves  # type: ignore[method-assign]

    out = method.training_step(images())
    out["loss"].backward()

    with torch.no_grad():  # BN statistics: globals in one pass, locals in another
        h = torch.cat(
            [method.backbone.forward_features(torch.cat(group)) for group in (views[:2], views[2:])]
        )
        expected = NTXentLoss(temperature=0.2)(*method.head(h).split(6))
    torch.testing.assert_close(out["loss"].detach(), expected, atol=1e-5, rtol=0)
    assert out["embedding"].shape == (6, method.backbone.feature_dim)
    for leaf in leaves:  # local crops are positives too, not just extra forward passes
        assert leaf.grad is not None and leaf.grad.abs().sum() > 0


def test_one_view_raises_a_clear_error() -> None:
    class OneView(torch.nn.Module):
        def forward(self, x: torch.Tensor, generator: object = None) -> list[torch.Tensor]:
            return [x.float()]

    with pytest.raises(ValueError, match="at least 2 views"):
        make(OneView()).training_step(images())

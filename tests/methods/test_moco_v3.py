"""MoCo v3: the loss matches a hand computation, the key encoder is a frozen EMA that follows
the closed form, random patch projection freezes exactly the patch projection."""

from __future__ import annotations

import math

import pytest
import torch
import torch.nn.functional as F

from method_helpers import train_steps
from selfsup.augment import create_augment
from selfsup.backbones import create_backbone
from selfsup.methods.contrastive import moco_v3  # noqa: F401  (registers "moco_v3")
from selfsup.methods.contrastive.moco_v3 import MoCoV3
from selfsup.methods.registry import create_method
from selfsup.registry import ConfigError

BATCH = {"input": torch.randint(0, 256, (8, 3, 20, 20), dtype=torch.uint8)}
VIT = ("vit_tiny", {"img_size": 16, "patch_size": 4})
RESNET: tuple[str, dict[str, int]] = ("resnet_tiny", {})


def _method(backbone: tuple[str, dict[str, int]] = RESNET, **kwargs: object) -> MoCoV3:
    torch.manual_seed(0)
    method = create_method(
        "moco_v3",
        backbone=create_backbone(backbone[0], **backbone[1]),
        augment=create_augment("simclr", size=16),
        proj_hidden_dim=32,
        proj_out_dim=16,
        pred_hidden_dim=32,
        **kwargs,
    )
    assert isinstance(method, MoCoV3)
    return method


def _views(method: MoCoV3, seed: int) -> tuple[torch.Tensor, torch.Tensor]:
    """The two views ``training_step`` makes with a generator seeded ``seed``."""
    assert method.augment is not None
    view_a, view_b = method.augment(BATCH["input"], generator=torch.Generator().manual_seed(seed))
    return view_a, view_b


def test_loss_is_two_tau_times_symmetric_ctr() -> None:
    method = _method(temperature=0.3)
    out = method.training_step(BATCH, generator=torch.Generator().manual_seed(1))
    view_a, view_b = _views(method, 1)

    def q(x: torch.Tensor) -> torch.Tensor:
        return F.normalize(method.predictor(method.projector(method.backbone(x))), dim=1)

    def k(x: torch.Tensor) -> torch.Tensor:
        return F.normalize(method.key_projector(method.key_backbone(x)), dim=1)

    labels = torch.arange(8)
    expected = (
        2
        * 0.3
        * (
            F.cross_entropy(q(view_a) @ k(view_b).T / 0.3, labels)
            + F.cross_entropy(q(view_b) @ k(view_a).T / 0.3, labels)
        )
    )
    torch.testing.assert_close(out["loss"], expected)


def test_key_encoder_gets_no_grad_and_follows_ema() -> None:
    method = _method()
    opt = torch.optim.SGD(method.parameters(), lr=0.1)
    # Make the key encoder differ from the query encoder so the blend is visible.
    opt.zero_grad()
    method.training_step(BATCH, generator=torch.Generator().manual_seed(0))["loss"].backward()
    opt.step()
    keys = {"key_backbone": "backbone", "key_projector": "projector"}
    old = {k: getattr(method, k).state_dict() for k in keys}
    old = {k: {n: t.clone() for n, t in sd.items()} for k, sd in old.items()}
    out = method.training_step(BATCH, generator=torch.Generator().manual_seed(1))
    opt.zero_grad()
    out["loss"].backward()
    for k in keys:
        assert all(p.grad is None and not p.requires_grad for p in getattr(method, k).parameters())
    opt.step()
    method.on_step_end(3, 10)
    m = 1 - (1 - 0.99) * (math.cos(math.pi * 3 / 10) + 1) / 2
    assert method.ema.momentum == pytest.approx(m)
    for key_name, student_name in keys.items():
        student = dict(getattr(method, student_name).named_parameters())
        for name, p in getattr(method, key_name).named_parameters():
            expected = m * old[key_name][name] + (1 - m) * student[name].detach()
            torch.testing.assert_close(p, expected, msg=name)


def test_freeze_patch_embed_freezes_exactly_the_patch_projection() -> None:
    method = _method(VIT, freeze_patch_embed=True)
    frozen = {n for n, p in method.backbone.named_parameters() if not p.requires_grad}
    # (mask_token is frozen in every ViT until a masking method trains it.)
    assert frozen == {"model.patch_embed.proj.weight", "model.patch_embed.proj.bias", "mask_token"}
    before = {n: p.detach().clone() for n, p in method.backbone.named_parameters()}
    opt = torch.optim.SGD([p for p in method.parameters() if p.requires_grad], lr=0.1)
    out = method.training_step(BATCH, generator=torch.Generator().manual_seed(0))
    opt.zero_grad()
    out["loss"].backward()
    opt.step()
    after = dict(method.backbone.named_parameters())
    assert all(torch.equal(after[n], before[n]) for n in frozen)
    key_params = dict(method.key_backbone.named_parameters())
    assert torch.equal(
        key_params["model.patch_embed.proj.weight"], before["model.patch_embed.proj.weight"]
    )
    assert not torch.equal(
        after["model.blocks.0.attn.qkv.weight"], before["model.blocks.0.attn.qkv.weight"]
    )
    unfrozen = _method(VIT)
    assert all(
        p.requires_grad for n, p in unfrozen.backbone.named_parameters() if n != "mask_token"
    )


def test_freeze_patch_embed_on_resnet_is_a_config_error() -> None:
    with pytest.raises(ConfigError, match=r"freeze_patch_embed.*ViT"):
        _method(RESNET, freeze_patch_embed=True)


@pytest.mark.parametrize("backbone", [RESNET, VIT], ids=["resnet_tiny", "vit_tiny"])
def test_five_steps_finite(backbone: tuple[str, dict[str, int]]) -> None:
    method = _method(backbone)
    before = {k: v.clone() for k, v in method.key_backbone.state_dict().items()}
    opt = torch.optim.AdamW(method.parameters(), lr=1e-3)
    out = train_steps(method, BATCH, opt)
    assert out["embedding"].shape == (8, method.backbone.feature_dim)
    after = method.key_backbone.state_dict()
    assert any(not torch.equal(after[k], v) for k, v in before.items() if v.is_floating_point())
    assert method.ema.momentum == 1.0

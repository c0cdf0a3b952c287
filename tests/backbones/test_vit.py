"""ViT backbones: pooling, tokens, sizes, and config schema."""

from __future__ import annotations

import pytest
import torch
from timm.layers import DropPath

from selfsup.backbones import create_backbone
from selfsup.backbones.registry import BACKBONES
from selfsup.backbones.vit import ViTBackbone
from selfsup.registry import ConfigError


def vit(**kwargs: object) -> ViTBackbone:
    torch.manual_seed(0)
    model = create_backbone("vit_tiny", img_size=32, patch_size=4, **kwargs)
    assert isinstance(model, ViTBackbone)
    return model.eval()


def test_cls_pool_is_first_token_and_mean_pool_averages_patch_tokens() -> None:
    x = torch.randn(2, 3, 32, 32)
    with torch.no_grad():
        cls_model = vit(pool="cls")
        tokens = cls_model.forward_tokens(x)
        torch.testing.assert_close(cls_model.forward_features(x), tokens[:, 0])
        mean_model = vit(pool="mean")
        tokens = mean_model.forward_tokens(x)
        expected = tokens[:, mean_model.num_prefix_tokens :].mean(dim=1)
        torch.testing.assert_close(mean_model.forward_features(x), expected)


@pytest.mark.parametrize("pool", ["cls", "mean"])
def test_tokens_come_after_the_final_layer_norm(pool: str) -> None:
    # At init the final LayerNorm has unit gain and zero bias: every token has mean 0, std 1.
    with torch.no_grad():
        tokens = vit(pool=pool).forward_tokens(torch.randn(2, 3, 32, 32))
    torch.testing.assert_close(tokens.mean(-1), torch.zeros(2, 65), atol=1e-4, rtol=0)
    torch.testing.assert_close(tokens.var(-1, unbiased=False), torch.ones(2, 65), atol=1e-3, rtol=0)


def test_geometry_attributes() -> None:
    model = vit()
    assert model.num_prefix_tokens == 1
    assert model.patch_grid == (8, 8)
    assert model.grid_for(48, 64) == (12, 16)
    assert model.feature_dim == model.model.embed_dim == 192


def test_dynamic_size_embeds_other_multiples_of_the_patch() -> None:
    model = vit()
    with torch.no_grad():
        tokens = model.forward_tokens(torch.randn(2, 3, 48, 64))
    assert tokens.shape == (2, 1 + 12 * 16, 192)
    with pytest.raises(ValueError, match="multiple of patch_size 4"):
        model(torch.randn(2, 3, 30, 32))


def test_fixed_size_rejects_other_sizes_in_one_line() -> None:
    model = vit(dynamic_img_size=False)
    assert model(torch.randn(2, 3, 32, 32)).shape == (2, 192)
    with pytest.raises(ValueError, match="differs from img_size 32x32"):
        model(torch.randn(2, 3, 48, 48))


def test_drop_path_and_in_chans_reach_the_timm_model() -> None:
    model = vit(drop_path_rate=0.2, in_chans=1)
    last_drop = model.model.blocks[-1].drop_path1
    assert isinstance(last_drop, DropPath)
    assert last_drop.drop_prob == pytest.approx(0.2)
    assert model(torch.randn(2, 1, 32, 32)).shape == (2, 192)
    with pytest.raises(ValueError, match=r"\[B, 1, H, W\]"):
        model(torch.randn(2, 3, 32, 32))


@pytest.mark.parametrize(("name", "dim"), [("vit_tiny", 192), ("vit_small", 384)])
def test_widths(name: str, dim: int) -> None:
    model = create_backbone(name, img_size=16, patch_size=8)
    assert model.feature_dim == dim
    assert model.forward_tokens(torch.randn(1, 3, 16, 16)).shape == (1, 5, dim)


def test_config_schema_is_the_factory_signature() -> None:
    params = BACKBONES.params("vit_small")
    assert {"img_size", "patch_size", "in_chans", "drop_path_rate", "pool"} <= set(params)
    BACKBONES.validate("vit_small", {"pool": "mean", "img_size": 32}, where="backbone")
    with pytest.raises(ConfigError, match=r"backbone\.pool"):
        BACKBONES.validate("vit_small", {"pool": "max"}, where="backbone")
    with pytest.raises(ConfigError, match="did you mean 'patch_size'"):
        BACKBONES.validate("vit_small", {"patch_sise": 4}, where="backbone")


def test_bad_construction_arguments() -> None:
    with pytest.raises(ValueError, match="not a multiple of patch_size"):
        create_backbone("vit_tiny", img_size=30, patch_size=4)
    with pytest.raises(ValueError, match="pool must be one of"):
        create_backbone("vit_tiny", img_size=32, patch_size=4, pool="max")


def test_vit_forward_map_lays_patch_tokens_on_their_grid() -> None:
    from selfsup.backbones import create_backbone

    vit = create_backbone("vit_tiny", img_size=16, patch_size=4, depth=1)
    x = torch.randn(2, 3, 16, 16)
    fmap = vit.forward_map(x)
    assert fmap.shape == (2, vit.feature_dim, 4, 4)
    tokens = vit.forward_tokens(x)[:, vit.num_prefix_tokens :]
    torch.testing.assert_close(fmap[:, :, 1, 2], tokens[:, 1 * 4 + 2])

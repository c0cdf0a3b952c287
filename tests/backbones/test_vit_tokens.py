"""ViT masked-image-modelling entry points: mask token, visible-only encoding, block outputs."""

from __future__ import annotations

import pytest
import torch

from selfsup.backbones import create_backbone
from selfsup.backbones.vit import ViTBackbone
from selfsup.nn.masking import random_masking


def vit(**kwargs: object) -> ViTBackbone:
    torch.manual_seed(0)
    model = create_backbone("vit_tiny", img_size=32, patch_size=4, **kwargs)
    assert isinstance(model, ViTBackbone)
    return model.eval()


def manual_embed(model: ViTBackbone, x: torch.Tensor) -> torch.Tensor:
    """Reference: conv patch embedding + CLS + position embedding, written out by hand."""
    m = model.model
    patches = m.patch_embed.proj(x).flatten(2).transpose(1, 2)  # [B, N, D]
    cls = m.cls_token.expand(x.shape[0], -1, -1)
    return torch.cat([cls, patches], dim=1) + m.pos_embed


def test_geometry() -> None:
    model = vit()
    assert model.patch_grid == (8, 8)
    assert model.num_patches == 64
    assert model.patch_size == 4
    assert model.mask_token.shape == (1, 1, 192)
    assert any(p is model.mask_token for p in model.parameters())


def test_forward_tokens_with_mask_replaces_masked_patches_before_position_embedding() -> None:
    model = vit()
    x = torch.randn(2, 3, 32, 32)
    mask = torch.zeros(2, 64, dtype=torch.bool)
    mask[0, [0, 5, 63]] = True
    mask[1, 10:30] = True
    with torch.no_grad():
        ref = manual_embed(model, x)
        # Replace masked patch embeddings by the mask token, then add position embeddings.
        patches = model.model.patch_embed.proj(x).flatten(2).transpose(1, 2)
        for b in range(2):
            for i in range(64):
                if mask[b, i]:
                    patches[b, i] = model.mask_token[0, 0]
        ref = torch.cat([model.model.cls_token.expand(2, -1, -1), patches], 1)
        ref = model.model.norm(model.model.blocks(ref + model.model.pos_embed))
        out = model.forward_tokens(x, mask)
        torch.testing.assert_close(out, ref, atol=1e-5, rtol=1e-5)
        # No mask at all equals timm's own path.
        all_false = torch.zeros(2, 64, dtype=torch.bool)
        torch.testing.assert_close(model.forward_tokens(x, all_false), model.forward_tokens(x))


def test_forward_visible_encodes_only_the_kept_patches() -> None:
    model = vit()
    x = torch.randn(3, 3, 32, 32)
    ratio = 0.75
    keep_idx, _, _ = random_masking(3, 64, ratio, torch.Generator().manual_seed(1))
    seen: list[int] = []
    hook = model.model.blocks[0].register_forward_pre_hook(
        lambda _m, args: seen.append(args[0].shape[1])
    )
    with torch.no_grad():
        out = model.forward_visible(x, keep_idx)
    hook.remove()
    assert seen == [1 + round(64 * (1 - ratio))] == [17]
    assert out.shape == (3, 17, 192)
    with torch.no_grad():
        embedded = manual_embed(model, x)
        for b in range(3):  # per-sample reference: pick the rows by hand
            rows = torch.cat([embedded[b, :1], embedded[b, 1 + keep_idx[b]]])
            ref = model.model.norm(model.model.blocks(rows[None]))
            torch.testing.assert_close(out[b : b + 1], ref, atol=1e-5, rtol=1e-5)


def test_forward_visible_rejects_bad_indices() -> None:
    model = vit()
    x = torch.randn(2, 3, 32, 32)
    with pytest.raises(ValueError, match="keep_idx values must be in"):
        model.forward_visible(x, torch.full((2, 4), 64, dtype=torch.long))
    with pytest.raises(ValueError, match="long tensor"):
        model.forward_visible(x, torch.zeros(2, 4))
    with pytest.raises(ValueError, match="token_mask must be a bool"):
        model.forward_tokens(x, torch.zeros(2, 63, dtype=torch.bool))


def test_forward_block_outputs_are_each_blocks_output() -> None:
    model = vit()
    x = torch.randn(2, 3, 32, 32)
    mask = torch.zeros(2, 64, dtype=torch.bool)
    mask[:, ::3] = True
    with torch.no_grad():
        outs = model.forward_block_outputs(x, mask)
        assert len(outs) == 12
        assert all(o.shape == (2, 65, 192) for o in outs)
        h = manual_embed(model, x)
        h0 = model.forward_block_outputs(x)[0]
        torch.testing.assert_close(h0, model.model.blocks[0](h), atol=1e-5, rtol=1e-5)
        # The last block's output, normed, is forward_tokens' output.
        final = model.model.norm(outs[-1])
        torch.testing.assert_close(final, model.forward_tokens(x, mask), atol=1e-5, rtol=1e-5)
        assert not torch.allclose(outs[-1], model.forward_block_outputs(x)[-1])


def test_mask_token_is_frozen_until_a_masking_method_trains_it() -> None:
    model = vit().train()
    assert not model.mask_token.requires_grad  # unused by forward_features: DDP would fail
    model.train_mask_token()
    x = torch.randn(2, 3, 32, 32)
    mask = torch.zeros(2, 64, dtype=torch.bool)
    mask[0, 3] = True
    model.forward_tokens(x, mask).sum().backward()
    assert model.mask_token.grad is not None and model.mask_token.grad.abs().sum() > 0

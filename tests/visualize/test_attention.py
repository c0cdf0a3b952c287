"""CLS attention maps equal timm's own (unfused) attention weights; the PNG is written."""

from __future__ import annotations

from pathlib import Path

import pytest
import torch

from selfsup.augment import create_augment
from selfsup.backbones import create_backbone
from selfsup.backbones.vit import ViTBackbone
from selfsup.methods.distillation.dino import DINO
from selfsup.visualize.attention import cls_attention, save_attention_maps


def _vit() -> ViTBackbone:
    torch.manual_seed(0)
    bb = create_backbone("vit_tiny", img_size=16, patch_size=4)
    assert isinstance(bb, ViTBackbone)
    bb.model.blocks = bb.model.blocks[:2]  # depth 2 keeps the test fast
    return bb.eval()


def test_cls_attention_matches_timm_unfused_weights() -> None:
    bb = _vit()
    x = torch.randn(3, 3, 16, 16)
    ours = cls_attention(bb, x)
    captured: list[torch.Tensor] = []
    attn = bb.model.blocks[-1].attn
    attn.fused_attn = False  # timm then materialises softmax(q k^T) and passes it to attn_drop
    handle = attn.attn_drop.register_forward_hook(lambda m, i, o: captured.append(o))
    with torch.no_grad():
        bb.forward_tokens(x)
    handle.remove()
    ref = captured[0][:, :, 0, 1:].reshape(3, 3, 4, 4)  # CLS row, patch columns
    torch.testing.assert_close(ours, ref, atol=1e-5, rtol=1e-5)
    assert not torch.allclose(ours[0], ours[1])


def test_save_attention_maps_writes_png_for_method_and_backbone(tmp_path: Path) -> None:
    images = torch.randint(0, 256, (3, 3, 16, 16), dtype=torch.uint8)
    out = save_attention_maps(_vit(), images, tmp_path / "a" / "maps.png", max_images=2)
    assert out.read_bytes()[:8] == b"\x89PNG\r\n\x1a\n"
    method = DINO(_vit(), create_augment("simclr", size=16), out_dim=16, hidden_dim=16)
    assert save_attention_maps(method, images, tmp_path / "m.png").stat().st_size > 0


def test_rejects_non_vit_and_float_images(tmp_path: Path) -> None:
    with pytest.raises(ValueError, match="ViT"):
        save_attention_maps(
            create_backbone("resnet_tiny"),  # type: ignore[arg-type]
            torch.zeros(1, 3, 16, 16, dtype=torch.uint8),
            tmp_path / "x.png",
        )
    with pytest.raises(ValueError, match="uint8"):
        save_attention_maps(_vit(), torch.zeros(1, 3, 16, 16), tmp_path / "x.png")

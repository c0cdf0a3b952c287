"""The last block's CLS-token attention of a ViT, per head, drawn over the input images."""

from __future__ import annotations

from collections.abc import Sequence
from pathlib import Path
from typing import Any

import torch
import torch.nn.functional as F
from torch import nn

from selfsup.augment.image import CIFAR_MEAN, CIFAR_STD
from selfsup.backbones.vit import ViTBackbone
from selfsup.methods.base import Method


@torch.no_grad()
def cls_attention(backbone: ViTBackbone, x: torch.Tensor) -> torch.Tensor:
    """Last block's attention from the CLS token to every patch: ``[B, heads, h, w]``.

    timm's attention is fused (weights are never materialised), so the weights are recomputed
    here from the last block's own ``qkv`` projection and q/k norms: ``softmax(q k^T / sqrt(d))``
    for the CLS query. Rows over the patches do not sum to 1 (the CLS token also attends to
    itself and any other prefix tokens).
    """
    if x.ndim != 4:
        raise ValueError(f"cls_attention expects normalised images [B, C, H, W], got {x.shape}")
    blocks = backbone.model.blocks
    if backbone.num_prefix_tokens < 1:
        raise ValueError("cls_attention needs a ViT with a CLS token")
    # The last block's input: the second-to-last block's output (or the embedded tokens).
    deep = len(blocks) > 1
    tokens = backbone.forward_block_outputs(x)[-2] if deep else backbone._embed(x, None)
    last: Any = blocks[-1]
    attn: Any = last.attn  # timm Attention: qkv, q_norm, k_norm, num_heads, scale
    b, n, d = tokens.shape
    heads = int(attn.num_heads)
    qkv = attn.qkv(last.norm1(tokens)).reshape(b, n, 3, heads, d // heads)
    q, k = qkv.permute(2, 0, 3, 1, 4)[:2]  # each [B, heads, n, d_head]
    q, k = attn.q_norm(q), attn.k_norm(k)
    weights = torch.softmax((q[:, :, :1] * attn.scale) @ k.transpose(-2, -1), dim=-1)
    h, w = backbone.grid_for(x.shape[-2], x.shape[-1])
    return weights[:, :, 0, backbone.num_prefix_tokens :].reshape(b, heads, h, w)


def check_attention(method: Method) -> None:
    """ValueError unless ``method``'s encoder is a ViT (checked before any data is read)."""
    if not isinstance(method.encoder(), ViTBackbone):
        raise ValueError(
            f"attention maps need a ViT backbone, got {type(method.encoder()).__name__}"
        )


def save_attention_maps(
    method_or_backbone: Method | ViTBackbone,
    images_uint8: torch.Tensor,
    path: str | Path,
    *,
    max_images: int = 8,
    alpha: float = 0.6,
    mean: Sequence[float] = CIFAR_MEAN,
    std: Sequence[float] = CIFAR_STD,
) -> Path:
    """Write a PNG grid: one row per image, the image then each head's CLS attention over it.

    Args:
        method_or_backbone: a trained method (its ``encoder()`` and ``eval_input`` are used) or
            a bare ViT backbone (images are scaled to [0, 1] and normalised by ``mean``/``std``).
        images_uint8: ``[B, C, H, W]`` uint8 images (C = 1 or 3).
        path: output PNG path (parent folders are created).
        max_images: rows drawn (the first ``max_images`` images).
        alpha: opacity of the attention overlay.
    Returns the written path.
    """
    if images_uint8.dtype != torch.uint8 or images_uint8.ndim != 4:
        raise ValueError(
            f"save_attention_maps expects uint8 images [B, C, H, W], got "
            f"{images_uint8.dtype} {list(images_uint8.shape)}"
        )
    if max_images < 1 or not 0.0 <= alpha <= 1.0:
        raise ValueError(f"need max_images >= 1 and alpha in [0, 1], got {max_images}, {alpha}")
    images = images_uint8[:max_images]
    backbone: nn.Module
    if isinstance(method_or_backbone, Method):
        backbone, x = method_or_backbone.encoder(), method_or_backbone.eval_input(images)
    else:
        backbone = method_or_backbone
        c = images.shape[1]
        m = torch.tensor(mean, dtype=torch.float32).view(1, -1, 1, 1)
        s = torch.tensor(std, dtype=torch.float32).view(1, -1, 1, 1)
        x = ((images.float() / 255.0).expand(-1, m.shape[1] if c == 1 else c, -1, -1) - m) / s
    if not isinstance(backbone, ViTBackbone):
        raise ValueError(f"attention maps need a ViT backbone, got {type(backbone).__name__}")
    device = next(backbone.parameters()).device
    was_training = backbone.training
    backbone.eval()
    try:
        maps = cls_attention(backbone, x.to(device)).float().cpu()  # [B, heads, h, w]
    finally:
        backbone.train(was_training)
    return _draw(images, maps, Path(path), alpha)


def _draw(images: torch.Tensor, maps: torch.Tensor, path: Path, alpha: float) -> Path:
    import matplotlib

    matplotlib.use("Agg")  # files only, never a window
    import matplotlib.pyplot as plt

    b, heads = maps.shape[:2]
    size = images.shape[-2:]
    up = F.interpolate(maps, size=size, mode="bilinear", align_corners=False)
    lo = up.amin(dim=(2, 3), keepdim=True)
    up = (up - lo) / (up.amax(dim=(2, 3), keepdim=True) - lo).clamp_min(1e-12)  # per map 0..1
    fig, axes = plt.subplots(b, heads + 1, figsize=(1.6 * (heads + 1), 1.6 * b), squeeze=False)
    for i in range(b):
        rgb = images[i].permute(1, 2, 0).numpy()
        rgb = rgb[..., 0] if rgb.shape[-1] == 1 else rgb
        for j in range(heads + 1):
            ax = axes[i][j]
            ax.imshow(rgb, cmap="gray" if rgb.ndim == 2 else None)
            if j:
                ax.imshow(up[i, j - 1].numpy(), cmap="inferno", alpha=alpha)
            ax.set_axis_off()
            if i == 0:
                ax.set_title("image" if j == 0 else f"head {j - 1}", fontsize=8)
    path.parent.mkdir(parents=True, exist_ok=True)
    fig.tight_layout()
    fig.savefig(path, dpi=100)
    plt.close(fig)
    return path

"""timm Vision Transformers as backbones (random init; sizes and patching configurable)."""

from __future__ import annotations

from typing import Literal

import timm
import torch
from timm.models.vision_transformer import VisionTransformer

from selfsup.backbones.base import Backbone
from selfsup.backbones.registry import register_backbone

Pool = Literal["cls", "mean"]
_TIMM_POOL = {"cls": "token", "mean": "avg"}


class ViTBackbone(Backbone):
    """A timm ``VisionTransformer`` with no classifier.

    ``forward_tokens`` returns every token after the final norm, prefix (CLS) tokens first:
    ``[B, num_prefix_tokens + h * w, D]``. ``forward_features`` pools those same normed tokens
    (CLS token, or mean of the patch tokens). ``model`` is the timm model, for methods that need
    its patch embedding, blocks or position embedding (MAE, iBOT, ...). With
    ``dynamic_img_size=True`` timm's ``model.patch_embed`` returns ``[B, h, w, D]`` (flattened
    only after the position embedding is resampled to that grid), not ``[B, h * w, D]``.
    """

    has_tokens = True
    channels_last = False

    def __init__(self, model: VisionTransformer) -> None:
        super().__init__()
        self.model = model
        self.feature_dim = int(model.embed_dim)
        self.num_prefix_tokens = int(model.num_prefix_tokens)
        self.patch_size: int = int(model.patch_embed.patch_size[0])
        self.in_chans = int(model.patch_embed.proj.in_channels)

    @property
    def patch_grid(self) -> tuple[int, int]:
        """Patch grid ``(h, w)`` at the configured ``img_size``."""
        h, w = self.model.patch_embed.grid_size
        return int(h), int(w)

    def grid_for(self, height: int, width: int) -> tuple[int, int]:
        """Patch grid ``(h, w)`` for an input of ``height x width`` pixels."""
        return height // self.patch_size, width // self.patch_size

    def _check_input(self, x: torch.Tensor) -> None:
        if x.ndim != 4 or x.shape[1] != self.in_chans:
            raise ValueError(
                f"{type(self).__name__} expects images [B, {self.in_chans}, H, W], "
                f"got shape {list(x.shape)}"
            )
        h, w = int(x.shape[2]), int(x.shape[3])
        if self.model.dynamic_img_size:
            if h % self.patch_size or w % self.patch_size:
                raise ValueError(
                    f"image size {h}x{w} is not a multiple of patch_size {self.patch_size}"
                )
        elif (h, w) != tuple(self.model.patch_embed.img_size):
            expected = "x".join(str(s) for s in self.model.patch_embed.img_size)
            raise ValueError(
                f"image size {h}x{w} differs from img_size {expected}; "
                "build the backbone with dynamic_img_size=True to accept other sizes"
            )

    def forward_tokens(self, x: torch.Tensor) -> torch.Tensor:
        """All normed tokens ``[B, num_prefix_tokens + h * w, D]``, prefix tokens first."""
        self._check_input(x)
        return self.model.forward_features(x)

    def forward_features(self, x: torch.Tensor) -> torch.Tensor:
        """Pooled features ``[B, D]`` (CLS token or mean of patch tokens)."""
        return self.model.forward_head(self.forward_tokens(x), pre_logits=True)


def build_vit(
    timm_name: str,
    *,
    img_size: int,
    patch_size: int,
    in_chans: int,
    drop_path_rate: float,
    pool: Pool,
    dynamic_img_size: bool,
) -> ViTBackbone:
    """Create a randomly initialised timm ViT (no classifier) and wrap it."""
    if pool not in _TIMM_POOL:
        raise ValueError(f"pool must be one of {sorted(_TIMM_POOL)}, got {pool!r}")
    if patch_size < 1 or img_size % patch_size:
        raise ValueError(f"img_size {img_size} is not a multiple of patch_size {patch_size}")
    if not 0.0 <= drop_path_rate < 1.0:
        raise ValueError(f"drop_path_rate must be in [0, 1), got {drop_path_rate}")
    model = timm.create_model(
        timm_name,
        pretrained=False,
        num_classes=0,
        img_size=img_size,
        patch_size=patch_size,
        in_chans=in_chans,
        drop_path_rate=drop_path_rate,
        global_pool=_TIMM_POOL[pool],
        # Keep the final norm on the tokens (not after pooling), so tokens and pooled
        # features live in the same normed space whichever pooling is chosen.
        fc_norm=False,
        dynamic_img_size=dynamic_img_size,
    )
    if not isinstance(model, VisionTransformer):  # timm names above are all plain ViTs
        raise TypeError(f"timm '{timm_name}' built {type(model).__name__}, not a VisionTransformer")
    return ViTBackbone(model)


def _register_vit(name: str, timm_name: str, summary: str) -> None:
    """Register one ViT size; the factory's typed keywords are the ``backbone.*`` schema."""

    def factory(
        img_size: int = 224,
        patch_size: int = 16,
        in_chans: int = 3,
        drop_path_rate: float = 0.0,
        pool: Pool = "cls",
        dynamic_img_size: bool = True,
    ) -> ViTBackbone:
        return build_vit(
            timm_name,
            img_size=img_size,
            patch_size=patch_size,
            in_chans=in_chans,
            drop_path_rate=drop_path_rate,
            pool=pool,
            dynamic_img_size=dynamic_img_size,
        )

    factory.__name__ = factory.__qualname__ = name
    factory.__doc__ = f"""{summary}

    Args:
        img_size: image side the position embedding is built for.
        patch_size: patch side in pixels (4 suits 32 px images).
        in_chans: input channels.
        drop_path_rate: stochastic-depth rate of the last block (linear ramp over depth).
        pool: pooled feature is the ``"cls"`` token or the ``"mean"`` of patch tokens.
        dynamic_img_size: accept any size that is a multiple of ``patch_size`` by resampling
            the position embedding (free at ``img_size``; needed for multi-crop).
    """
    register_backbone(name, modality="image")(factory)


_register_vit("vit_tiny", "vit_tiny_patch16_224", "ViT-Tiny (D=192, 12 blocks, 3 heads).")
_register_vit("vit_small", "vit_small_patch16_224", "ViT-Small (D=384, 12 blocks, 6 heads).")
_register_vit("vit_base", "vit_base_patch16_224", "ViT-Base (D=768, 12 blocks, 12 heads).")

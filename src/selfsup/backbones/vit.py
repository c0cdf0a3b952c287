"""timm Vision Transformers as backbones (random init; sizes and patching configurable)."""

from __future__ import annotations

from typing import Any, Literal

import timm
import torch
from timm.models.vision_transformer import VisionTransformer
from torch import nn

from selfsup.backbones.base import Backbone
from selfsup.backbones.registry import register_backbone

Pool = Literal["cls", "mean"]
_TIMM_POOL = {"cls": "token", "mean": "avg"}


class ViTBackbone(Backbone):
    """A timm ``VisionTransformer`` with no classifier.

    ``forward_tokens`` returns every token after the final norm, prefix (CLS) tokens first:
    ``[B, num_prefix_tokens + h * w, D]``. ``forward_features`` pools those same normed tokens
    (CLS token, or mean of the patch tokens). ``model`` is the timm model, for methods that need
    its patch embedding, blocks or position embedding. With
    ``dynamic_img_size=True`` timm's ``model.patch_embed`` returns ``[B, h, w, D]`` (flattened
    only after the position embedding is resampled to that grid), not ``[B, h * w, D]``.

    Masked-image-modelling entry points (patches are numbered row-major over the grid):

    - ``forward_tokens(x, token_mask)``: masked patch embeddings are replaced by the learnable
      ``mask_token`` *before* position embeddings are added (BEiT / iBOT / data2vec students).
    - ``forward_visible(x, keep_idx)``: the blocks see only the kept patches plus the prefix
      tokens, each with its own position embedding (MAE encoder; cost scales with ``K``).
    - ``forward_block_outputs(x, token_mask)``: every block's output, before the final norm
      (data2vec averages the top-K of these as its target).
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
        # Created here (not on first masked call) so optimizers and checkpoints always see it.
        # Frozen until a method that masks tokens calls ``train_mask_token``: an unused trainable
        # parameter would make DDP fail for every other method (SimCLR, MAE, DINO on a ViT).
        self.mask_token = nn.Parameter(torch.zeros(1, 1, self.feature_dim), requires_grad=False)
        nn.init.trunc_normal_(self.mask_token, std=0.02)

    def train_mask_token(self) -> None:
        """Make ``mask_token`` trainable (for methods that pass ``token_mask``)."""
        self.mask_token.requires_grad_(True)

    @property
    def patch_grid(self) -> tuple[int, int]:
        """Patch grid ``(h, w)`` at the configured ``img_size``."""
        h, w = self.model.patch_embed.grid_size
        return int(h), int(w)

    @property
    def num_patches(self) -> int:
        """Number of patch tokens ``h * w`` at the configured ``img_size``."""
        h, w = self.patch_grid
        return h * w

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

    def _embed(self, x: torch.Tensor, token_mask: torch.Tensor | None) -> torch.Tensor:
        """Patch-embed, swap masked patches for ``mask_token``, add prefix + position embeddings.

        Returns ``[B, num_prefix_tokens + h * w, D]`` ready for the blocks.
        """
        self._check_input(x)
        patches = self.model.patch_embed(x)  # [B, h, w, D] (dynamic) or [B, h*w, D]
        if token_mask is not None:
            b = patches.shape[0]
            n = patches.shape[1] * patches.shape[2] if patches.ndim == 4 else patches.shape[1]
            if token_mask.shape != (b, n) or token_mask.dtype != torch.bool:
                raise ValueError(
                    f"token_mask must be a bool tensor [B, N] = [{b}, {n}], got "
                    f"{token_mask.dtype} {list(token_mask.shape)}"
                )
            mask = token_mask.reshape(patches.shape[:-1]).unsqueeze(-1)  # matches patches
            patches = torch.where(mask, self.mask_token.to(patches.dtype), patches)
        tokens = self.model._pos_embed(patches)  # [B, P + N, D], timm resamples pos embed
        return self.model.norm_pre(self.model.patch_drop(tokens))

    def forward_tokens(
        self, x: torch.Tensor, token_mask: torch.Tensor | None = None
    ) -> torch.Tensor:
        """All normed tokens ``[B, num_prefix_tokens + h * w, D]``, prefix tokens first.

        Args:
            x: images ``[B, C, H, W]``.
            token_mask: optional bool ``[B, h * w]``, True where the patch is replaced by
                ``mask_token`` before position embeddings are added.
        """
        if token_mask is None:
            self._check_input(x)
            return self.model.forward_features(x)
        return self.model.norm(self.model.blocks(self._embed(x, token_mask)))

    def forward_visible(self, x: torch.Tensor, keep_idx: torch.Tensor) -> torch.Tensor:
        """Encode only the kept patches: normed tokens ``[B, num_prefix_tokens + K, D]``.

        Args:
            x: images ``[B, C, H, W]``.
            keep_idx: long ``[B, K]`` indices (row-major over the patch grid) of the patches the
                blocks see; output patch tokens follow this order.
        """
        tokens = self._embed(x, None)  # [B, P + N, D] with position embeddings
        p = self.num_prefix_tokens
        b, n = tokens.shape[0], tokens.shape[1] - p
        if keep_idx.ndim != 2 or keep_idx.shape[0] != b or keep_idx.dtype != torch.long:
            raise ValueError(
                f"keep_idx must be a long tensor [B={b}, K], got {keep_idx.dtype} "
                f"{list(keep_idx.shape)}"
            )
        if keep_idx.numel() and (int(keep_idx.min()) < 0 or int(keep_idx.max()) >= n):
            raise ValueError(f"keep_idx values must be in [0, {n}) for {n} patches")
        index = keep_idx.unsqueeze(-1).expand(-1, -1, tokens.shape[-1])  # [B, K, D]
        kept = torch.gather(tokens[:, p:], 1, index)
        visible = torch.cat([tokens[:, :p], kept], dim=1)  # [B, P + K, D]
        return self.model.norm(self.model.blocks(visible))

    def forward_block_outputs(
        self, x: torch.Tensor, token_mask: torch.Tensor | None = None
    ) -> list[torch.Tensor]:
        """Each block's output ``[B, num_prefix_tokens + h * w, D]`` (no final norm), in order.

        ``token_mask`` works as in ``forward_tokens``.
        """
        h = self._embed(x, token_mask)
        outputs = []
        for block in self.model.blocks:
            h = block(h)
            outputs.append(h)
        return outputs

    def forward_map(self, x: torch.Tensor) -> torch.Tensor:
        """The normed patch tokens laid out on their grid: ``[B, D, h, w]`` (prefix dropped)."""
        tokens = self.forward_tokens(x)[:, self.num_prefix_tokens :]  # [B, h * w, D]
        h, w = self.grid_for(int(x.shape[2]), int(x.shape[3]))
        return tokens.transpose(1, 2).reshape(x.shape[0], self.feature_dim, h, w)

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
    depth: int | None = None,
) -> ViTBackbone:
    """Create a randomly initialised timm ViT (no classifier) and wrap it."""
    if pool not in _TIMM_POOL:
        raise ValueError(f"pool must be one of {sorted(_TIMM_POOL)}, got {pool!r}")
    if patch_size < 1 or img_size % patch_size:
        raise ValueError(f"img_size {img_size} is not a multiple of patch_size {patch_size}")
    if not 0.0 <= drop_path_rate < 1.0:
        raise ValueError(f"drop_path_rate must be in [0, 1), got {drop_path_rate}")
    if depth is not None and depth < 1:
        raise ValueError(f"depth must be >= 1, got {depth}")
    extra: dict[str, Any] = {} if depth is None else {"depth": depth}
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
        **extra,
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
        depth: int | None = None,
    ) -> ViTBackbone:
        return build_vit(
            timm_name,
            img_size=img_size,
            patch_size=patch_size,
            in_chans=in_chans,
            drop_path_rate=drop_path_rate,
            pool=pool,
            dynamic_img_size=dynamic_img_size,
            depth=depth,
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
        depth: number of blocks (None: the size's standard 12); fewer suit CPU runs.
    """
    register_backbone(name)(factory)


_register_vit("vit_tiny", "vit_tiny_patch16_224", "ViT-Tiny (D=192, 12 blocks, 3 heads).")
_register_vit("vit_small", "vit_small_patch16_224", "ViT-Small (D=384, 12 blocks, 6 heads).")
_register_vit("vit_base", "vit_base_patch16_224", "ViT-Base (D=768, 12 blocks, 12 heads).")


def as_vit(backbone: Backbone, method: str) -> ViTBackbone:
    """``backbone`` typed as a ViT, or a one-line ValueError naming the method that needs one."""
    if not isinstance(backbone, ViTBackbone):
        raise ValueError(f"{method} needs a ViT backbone, got {type(backbone).__name__}")
    return backbone

"""MAE's lightweight decoder: visible latents + mask tokens -> per-patch pixel predictions."""

from __future__ import annotations

import torch
from timm.layers.pos_embed_sincos import build_sincos2d_pos_embed
from timm.models.vision_transformer import Block
from torch import nn

from selfsup.nn.masking import gather_tokens


class MAEDecoder(nn.Module):
    """Transformer decoder over the full patch grid (He et al. 2021, section 3).

    Encoder tokens are projected to ``decoder_dim``; one shared learnable mask token fills every
    removed position; ``restore_idx`` (from ``random_masking``) puts tokens back in grid order;
    fixed 2-D sine-cosine position embeddings (the decoder's own) are added; then ``depth``
    blocks, a norm and a linear layer to ``patch_dim`` pixel values per patch.

    Args:
        grid: patch grid ``(h, w)``.
        encoder_dim: width of the encoder tokens.
        patch_dim: values predicted per patch (``p * p * C``).
        decoder_dim / depth / num_heads / mlp_ratio: decoder size (paper: 512 / 8 / 16 / 4).
        num_prefix_tokens: prefix (CLS) tokens in the encoder output; they pass through the
            decoder blocks but get no prediction.
    """

    def __init__(
        self,
        grid: tuple[int, int],
        encoder_dim: int,
        patch_dim: int,
        decoder_dim: int = 512,
        depth: int = 8,
        num_heads: int = 16,
        mlp_ratio: float = 4.0,
        num_prefix_tokens: int = 1,
    ) -> None:
        super().__init__()
        if decoder_dim % num_heads or decoder_dim % 4:
            raise ValueError(
                f"decoder_dim {decoder_dim} must be a multiple of num_heads {num_heads} and of 4"
            )
        if depth < 0:
            raise ValueError(f"decoder depth must be >= 0, got {depth}")
        self.grid = grid
        self.num_prefix_tokens = num_prefix_tokens
        self.embed = nn.Linear(encoder_dim, decoder_dim)
        self.mask_token = nn.Parameter(torch.zeros(1, 1, decoder_dim))
        nn.init.normal_(self.mask_token, std=0.02)
        # Fixed, not learned (as in the paper); prefix tokens get a zero position embedding.
        pos = build_sincos2d_pos_embed(list(grid), dim=decoder_dim)  # [N, Dd]
        pos = torch.cat([torch.zeros(num_prefix_tokens, decoder_dim), pos])
        self.register_buffer("pos_embed", pos.unsqueeze(0), persistent=False)
        self.pos_embed: torch.Tensor
        self.blocks = nn.Sequential(
            *[Block(decoder_dim, num_heads, mlp_ratio, qkv_bias=True) for _ in range(depth)]
        )
        self.norm = nn.LayerNorm(decoder_dim)
        self.pred = nn.Linear(decoder_dim, patch_dim)

    def forward(self, latent: torch.Tensor, restore_idx: torch.Tensor) -> torch.Tensor:
        """Predict every patch: ``[B, P + K, De]`` and ``[B, N]`` -> ``[B, N, patch_dim]``."""
        p = self.num_prefix_tokens
        n = self.grid[0] * self.grid[1]
        if restore_idx.shape != (latent.shape[0], n):
            raise ValueError(
                f"restore_idx must be [B, {n}] for grid {self.grid}, got {list(restore_idx.shape)}"
            )
        x = self.embed(latent)  # [B, P + K, Dd]
        kept = x.shape[1] - p
        fill = self.mask_token.expand(x.shape[0], n - kept, -1)  # [B, N - K, Dd]
        patches = gather_tokens(torch.cat([x[:, p:], fill], dim=1), restore_idx)  # grid order
        x = torch.cat([x[:, :p], patches], dim=1) + self.pos_embed  # [B, P + N, Dd]
        x = self.norm(self.blocks(x))
        return self.pred(x[:, p:])  # [B, N, patch_dim]

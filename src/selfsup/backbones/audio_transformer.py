"""The transformer both audio backbones run over their tokens, with a key-padding mask.

``torch.nn.TransformerEncoderLayer`` blocks (GELU, batch first), pre-LN (a final LayerNorm
after the last block) or post-LN (each block ends in its own LayerNorm, as wav2vec 2.0 Base).
Padding tokens are hidden as keys, so they never change a real token; they still get outputs
(which callers zero), which keeps every tensor rectangular.
"""

from __future__ import annotations

import torch
from torch import nn


class AudioTransformer(nn.Module):
    """``depth`` encoder blocks of width ``dim``; ``forward`` returns each block's output."""

    def __init__(
        self,
        dim: int,
        depth: int,
        heads: int,
        ffn_dim: int,
        dropout: float,
        norm_first: bool,
    ) -> None:
        super().__init__()
        if depth < 1:
            raise ValueError(f"depth must be >= 1, got {depth}")
        if dim % heads:
            raise ValueError(f"dim {dim} is not divisible by heads {heads}")
        if not 0.0 <= dropout < 1.0:
            raise ValueError(f"dropout must be in [0, 1), got {dropout}")
        self.norm_first = norm_first
        self.blocks = nn.ModuleList(
            nn.TransformerEncoderLayer(
                dim,
                heads,
                dim_feedforward=ffn_dim,
                dropout=dropout,
                activation="gelu",
                batch_first=True,
                norm_first=norm_first,
            )
            for _ in range(depth)
        )
        # Pre-LN blocks leave their residual stream un-normalised: one LayerNorm at the end.
        self.final_norm = nn.LayerNorm(dim) if norm_first else nn.Identity()

    def forward(self, tokens: torch.Tensor, valid: torch.Tensor) -> list[torch.Tensor]:
        """Block outputs ``[B, N, D]`` in order; ``valid`` (bool ``[B, N]``) marks real tokens.

        A row with no real token (impossible for a clip; possible for an all-padding visible
        set) attends to everything rather than to nothing, which would give NaN.
        """
        hidden = ~valid & valid.any(dim=1, keepdim=True)
        outputs = []
        h = tokens
        for block in self.blocks:
            h = block(h, src_key_padding_mask=hidden)
            outputs.append(h)
        return outputs

    def finish(self, last: torch.Tensor) -> torch.Tensor:
        """The last block's output as final features (the closing LayerNorm for pre-LN)."""
        out: torch.Tensor = self.final_norm(last)
        return out

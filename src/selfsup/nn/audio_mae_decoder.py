"""Audio-MAE's decoder: the image MAE decoder over a patch grid whose time axis varies per batch.

Clips differ in length, so the grid is ``(mel patches, time patches)`` of the batch at hand:
positions are recomputed per batch (fixed sine-cosine, half the channels for the mel row and
half for the time column), and padding patches are hidden as attention keys so they never
change a real patch's prediction.
"""

from __future__ import annotations

import torch

from selfsup.nn.mae_decoder import MAEDecoder
from selfsup.nn.masking import gather_tokens


def grid_sincos(n_f: int, n_t: int, dim: int, device: torch.device | None = None) -> torch.Tensor:
    """Fixed 2-D sine-cosine positions ``[n_f * n_t, dim]``, row-major (mel rows, time columns).

    A column's embedding does not depend on how many columns the batch has, so appending
    padding leaves every real patch's position unchanged.
    """
    if dim % 4:
        raise ValueError(f"2-D sine-cosine positions need dim divisible by 4, got {dim}")
    half = dim // 2
    freqs = 1.0 / 10000 ** (torch.arange(0, half, 2, device=device, dtype=torch.float32) / half)

    def one_axis(n: int) -> torch.Tensor:
        angles = torch.arange(n, device=device, dtype=torch.float32)[:, None] * freqs[None, :]
        return torch.cat([angles.sin(), angles.cos()], dim=1)  # [n, half]

    rows = one_axis(n_f)[:, None, :].expand(-1, n_t, -1)
    cols = one_axis(n_t)[None, :, :].expand(n_f, -1, -1)
    return torch.cat([rows, cols], dim=-1).reshape(n_f * n_t, dim)


class AudioMAEDecoder(MAEDecoder):
    """:class:`MAEDecoder` (same blocks, mask token and head) for any time grid.

    Args:
        n_mels_patches: mel rows of the grid (fixed by the backbone's filterbank).
        encoder_dim / patch_dim / decoder_dim / depth / num_heads / mlp_ratio: as for
            :class:`MAEDecoder`; the encoder has no prefix tokens.
    """

    def __init__(
        self,
        n_mels_patches: int,
        encoder_dim: int,
        patch_dim: int,
        decoder_dim: int = 512,
        depth: int = 8,
        num_heads: int = 16,
        mlp_ratio: float = 4.0,
    ) -> None:
        # The parent's fixed-grid positions are unused: a one-column placeholder grid.
        super().__init__(
            (n_mels_patches, 1),
            encoder_dim,
            patch_dim,
            decoder_dim=decoder_dim,
            depth=depth,
            num_heads=num_heads,
            mlp_ratio=mlp_ratio,
            num_prefix_tokens=0,
        )
        self.n_mels_patches = n_mels_patches

    def forward(  # type: ignore[override]
        self,
        latent: torch.Tensor,
        restore_idx: torch.Tensor,
        n_t: int,
        valid: torch.Tensor,
    ) -> torch.Tensor:
        """Predict every patch of a ``(n_mels_patches, n_t)`` grid: ``[B, N, patch_dim]``.

        ``latent [B, K, De]`` are the kept patches' encoder tokens in ``keep_idx`` order,
        ``restore_idx [B, N]`` from the masking, ``valid`` bool ``[B, N]`` the real patches.
        """
        n = self.n_mels_patches * n_t
        b = latent.shape[0]
        if restore_idx.shape != (b, n) or valid.shape != (b, n):
            raise ValueError(
                f"restore_idx and valid must be [B, {n}] for a grid of {n_t} time patches, got "
                f"{list(restore_idx.shape)} and {list(valid.shape)}"
            )
        x = self.embed(latent)  # [B, K, Dd]
        fill = self.mask_token.expand(b, n - x.shape[1], -1).to(x.dtype)
        x = gather_tokens(torch.cat([x, fill], dim=1), restore_idx)  # grid order
        x = x + grid_sincos(self.n_mels_patches, n_t, x.shape[-1], x.device).to(x.dtype)
        # Additive key mask: padding keys get -inf (a clip always has a real patch).
        bias = torch.zeros(b, 1, 1, n, device=x.device, dtype=x.dtype)
        bias = bias.masked_fill(~valid[:, None, None, :], float("-inf"))
        for block in self.blocks:
            x = block(x, attn_mask=bias)
        return self.pred(self.norm(x))  # [B, N, patch_dim]

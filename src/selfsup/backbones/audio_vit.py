"""Spectrogram transformer (AST / Audio-MAE style): log-mel patches into a pre-LN transformer.

waveform -> :class:`SpectrogramImage` (normalised log-mel, ``[B, 1, n_mels, frames]``) ->
non-overlapping ``p x p`` patches (mel x time) -> linear patch embedding -> mask token where
``token_mask`` -> + learned frequency position + sine-cosine time position (so any clip length
works) -> blocks with a key-padding mask over patches whose time span is all padding ->
final LayerNorm. ``forward_features`` is the mean of the real patches.

The Audio-MAE entry points mirror the image ViT's: ``patch_size``, ``in_chans`` (1),
``num_prefix_tokens`` (0), ``patch_grid_for(x)``, ``log_mel(x)`` (the image patches are cut
from), ``target_patches(x)`` and ``forward_visible(x, keep_idx)``.
"""

from __future__ import annotations

from dataclasses import dataclass

import torch
from torch import nn

from selfsup.backbones.audio_base import AudioBackbone, zero_invalid
from selfsup.backbones.audio_spectrogram import SpectrogramImage, sincos_positions
from selfsup.backbones.audio_transformer import AudioTransformer
from selfsup.backbones.registry import register_backbone
from selfsup.nn.audio_features import MelScale
from selfsup.nn.masking import patchify


@dataclass(frozen=True)
class AudioViTSize:
    """Width, blocks and heads of one named size."""

    dim: int
    depth: int
    heads: int


SIZES = {"tiny": AudioViTSize(192, 12, 3), "base": AudioViTSize(768, 12, 12)}


class AudioViTBackbone(AudioBackbone):
    """NaN-padded waveform ``[B, T]`` -> one token per log-mel patch (see module doc)."""

    in_chans = 1
    num_prefix_tokens = 0

    def __init__(
        self,
        size: AudioViTSize,
        spectrogram: SpectrogramImage,
        mlp_ratio: float = 4.0,
        dropout: float = 0.0,
    ) -> None:
        super().__init__()
        self.spectrogram = spectrogram
        self.sample_rate = spectrogram.log_mel.sample_rate
        self.patch_size = spectrogram.patch_size
        self.feature_dim = size.dim
        self.depth = size.depth
        p = self.patch_size
        self.patch_embed = nn.Conv2d(1, size.dim, kernel_size=p, stride=p)
        self.freq_pos = nn.Parameter(torch.zeros(spectrogram.n_mels // p, size.dim))
        nn.init.trunc_normal_(self.freq_pos, std=0.02)
        self._make_mask_token(size.dim)
        nn.init.trunc_normal_(self.mask_token, std=0.02)
        self.transformer = AudioTransformer(
            size.dim, size.depth, size.heads, int(size.dim * mlp_ratio), dropout, True
        )

    def patch_grid_for(self, x: torch.Tensor) -> tuple[int, int]:
        """Patch grid ``(mel patches, time patches)`` of the waveform batch ``x``."""
        return self.spectrogram.grid(x.shape[1])

    def log_mel(self, x: torch.Tensor) -> torch.Tensor:
        """The normalised log-mel image ``[B, 1, n_mels, n_t * p]`` patches are cut from."""
        self.check_waveform(x)
        image, _ = self.spectrogram(x)
        return image

    def target_patches(self, x: torch.Tensor) -> torch.Tensor:
        """Log-mel patches ``[B, N, p * p]`` in token order (what Audio-MAE reconstructs)."""
        return patchify(self.log_mel(x), self.patch_size)

    def valid_tokens(self, x: torch.Tensor) -> torch.Tensor:
        self.check_waveform(x)
        return self.spectrogram.valid_patches(x)

    def _embed(self, x: torch.Tensor, token_mask: torch.Tensor | None) -> torch.Tensor:
        """Patch embeddings ``[B, N, D]``, masked ones swapped, plus position embeddings."""
        patches = self.patch_embed(self.log_mel(x))  # [B, D, n_f, n_t]
        n_f, n_t = patches.shape[2], patches.shape[3]
        tokens = self.replace_masked(patches.flatten(2).transpose(1, 2), token_mask)
        time = sincos_positions(n_t, self.feature_dim, x.device).to(tokens.dtype)
        pos = self.freq_pos.to(tokens.dtype)[:, None, :] + time[None, :, :]  # [n_f, n_t, D]
        return tokens + pos.reshape(n_f * n_t, -1)[None]

    def forward_block_outputs(
        self, x: torch.Tensor, token_mask: torch.Tensor | None = None
    ) -> list[torch.Tensor]:
        valid = self.valid_tokens(x)
        outputs = self.transformer(self._embed(x, token_mask), valid)
        return [zero_invalid(h, valid) for h in outputs]

    def forward_tokens(
        self, x: torch.Tensor, token_mask: torch.Tensor | None = None
    ) -> torch.Tensor:
        valid = self.valid_tokens(x)
        last = self.transformer(self._embed(x, token_mask), valid)[-1]
        return zero_invalid(self.transformer.finish(last), valid)

    def forward_visible(self, x: torch.Tensor, keep_idx: torch.Tensor) -> torch.Tensor:
        """Encode only the kept patches: normed tokens ``[B, K, D]`` in ``keep_idx`` order.

        ``keep_idx``: long ``[B, K]`` token indices (row-major over ``patch_grid_for(x)``);
        kept patches that are padding stay hidden as keys and come back zeroed.
        """
        tokens, valid = self._embed(x, None), self.valid_tokens(x)
        b, n = valid.shape
        if keep_idx.ndim != 2 or keep_idx.shape[0] != b or keep_idx.dtype != torch.long:
            raise ValueError(
                f"keep_idx must be a long tensor [B={b}, K], got {keep_idx.dtype} "
                f"{list(keep_idx.shape)}"
            )
        if keep_idx.numel() and (int(keep_idx.min()) < 0 or int(keep_idx.max()) >= n):
            raise ValueError(f"keep_idx values must be in [0, {n}) for {n} patches")
        kept = torch.gather(tokens, 1, keep_idx[..., None].expand(-1, -1, tokens.shape[-1]))
        kept_valid = torch.gather(valid, 1, keep_idx)
        last = self.transformer(kept, kept_valid)[-1]
        return zero_invalid(self.transformer.finish(last), kept_valid)


def _register(name: str, size_name: str) -> None:
    size = SIZES[size_name]

    def factory(
        sample_rate: int = 16000,
        n_mels: int | None = None,
        f_min: float = 0.0,
        f_max: float | None = None,
        mel_scale: MelScale = "htk",
        patch_size: int = 16,
        dim: int | None = None,
        depth: int | None = None,
        heads: int | None = None,
        mlp_ratio: float = 4.0,
        dropout: float = 0.0,
        norm_mean: float | None = None,
        norm_std: float | None = None,
    ) -> AudioViTBackbone:
        mels = n_mels or (128 if sample_rate >= 16000 else 64)
        spectrogram = SpectrogramImage(
            sample_rate, mels, patch_size, f_min, f_max, mel_scale, norm_mean, norm_std
        )
        chosen = AudioViTSize(dim or size.dim, depth or size.depth, heads or size.heads)
        return AudioViTBackbone(chosen, spectrogram, mlp_ratio=mlp_ratio, dropout=dropout)

    factory.__name__ = factory.__qualname__ = name
    factory.__doc__ = f"""Spectrogram transformer, {size_name}: D={size.dim}, {size.depth} blocks,
    {size.heads} heads, over {{patch_size}}-square log-mel patches.

    Args:
        sample_rate: the waveform's rate.
        n_mels: mel bands (a multiple of patch_size; None: 128 at >= 16 kHz, else 64).
        f_min / f_max: the filterbank's range (f_max None: Nyquist, 4000 Hz at 8 kHz).
        mel_scale: "htk" or "slaney".
        patch_size: patch side in mel bands and 10 ms frames.
        dim / depth / heads: override the named size (fewer blocks suit CPU runs).
        mlp_ratio / dropout: block FFN width over dim, and dropout in the blocks.
        norm_mean / norm_std: standardise log-mel dB with these dataset statistics
            (None: per clip over its real frames).
    """
    register_backbone(name)(factory)


_register("audio_vit_tiny", "tiny")
_register("audio_vit_base", "base")

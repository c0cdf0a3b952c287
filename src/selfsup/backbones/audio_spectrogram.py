"""The spectrogram image a spectrogram transformer reads, and its patch layout.

A NaN-padded waveform becomes a normalised log-mel "image" ``[B, 1, n_mels, frames]`` (mel
bands as rows, 10 ms frames as columns), its frame axis padded with zeros to a whole number
of patches. Patches are numbered row-major over the ``(n_mels / p, frames / p)`` grid, as
:func:`selfsup.nn.masking.patchify` cuts images; a patch is real when its time span holds at
least one real frame, so a clip shorter than one patch still gives one column of tokens.
"""

from __future__ import annotations

import math

import torch
from torch import nn

from selfsup.nn.audio_features import LogMel, MelScale
from selfsup.nn.audio_padding import lengths_mask


class SpectrogramImage(nn.Module):
    """Waveform ``[B, T]`` -> (log-mel image ``[B, 1, n_mels, n_t * p]``, frames ``[B]``).

    Log-mel in dB (25 ms windows every 10 ms, per-clip ``top_db`` 80), standardised with
    ``mean`` / ``std`` when both are given, else per clip over its real frames (so gain does
    not matter and no dataset statistics are needed); padding frames are 0 afterwards.
    """

    def __init__(
        self,
        sample_rate: int,
        n_mels: int,
        patch_size: int,
        f_min: float = 0.0,
        f_max: float | None = None,
        scale: MelScale = "htk",
        mean: float | None = None,
        std: float | None = None,
    ) -> None:
        super().__init__()
        if patch_size < 1 or n_mels % patch_size:
            raise ValueError(f"n_mels {n_mels} is not a multiple of patch_size {patch_size}")
        if (mean is None) != (std is None) or (std is not None and std <= 0):
            raise ValueError("give both norm_mean and norm_std (std > 0), or neither")
        self.patch_size = patch_size
        self.n_mels = n_mels
        self.mean, self.std = mean, std
        self.log_mel = LogMel(sample_rate, n_mels=n_mels, f_min=f_min, f_max=f_max, scale=scale)

    def time_patches(self, frames: int) -> int:
        """Patch columns covering ``frames`` frames (at least 1)."""
        return max(1, math.ceil(frames / self.patch_size))

    def batch_frames(self, samples: int) -> int:
        """Frames of a batch of ``samples`` samples before patch padding."""
        return samples // self.log_mel.hop_length + 1

    def grid(self, samples: int) -> tuple[int, int]:
        """Patch grid ``(n_mels / p, time patches)`` of a batch of ``samples`` samples."""
        return self.n_mels // self.patch_size, self.time_patches(self.batch_frames(samples))

    def valid_patches(self, x: torch.Tensor) -> torch.Tensor:
        """bool ``[B, n_f * n_t]``: patches whose time span holds a real frame."""
        n_f, n_t = self.grid(x.shape[1])
        frames = self.log_mel.frame_lengths(x)
        columns = torch.div(frames + self.patch_size - 1, self.patch_size, rounding_mode="floor")
        valid = lengths_mask(columns, n_t)  # [B, n_t]
        return valid[:, None, :].expand(-1, n_f, -1).reshape(x.shape[0], n_f * n_t)

    def forward(self, x: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
        db, frames = self.log_mel(x)  # [B, n_mels, F], padding frames at the dB floor
        real = lengths_mask(frames, db.shape[-1])[:, None, :]  # [B, 1, F]
        if self.mean is not None and self.std is not None:
            normed = (db - self.mean) / self.std
        else:
            count = real.sum(-1, keepdim=True) * db.shape[1]
            mean = db.masked_fill(~real, 0.0).sum((1, 2), keepdim=True) / count
            var = (db - mean).masked_fill(~real, 0.0).pow(2).sum((1, 2), keepdim=True) / count
            normed = (db - mean) / (var.sqrt() + 1e-5)
        normed = normed.masked_fill(~real, 0.0)
        total = self.time_patches(db.shape[-1]) * self.patch_size
        image = nn.functional.pad(normed, (0, total - db.shape[-1]))
        return image[:, None], frames


def sincos_positions(n: int, dim: int, device: torch.device | None = None) -> torch.Tensor:
    """Fixed 1-D sine-cosine embedding ``[n, dim]`` of positions ``0..n-1`` (any ``n``)."""
    if dim % 2:
        raise ValueError(f"sine-cosine positions need an even dim, got {dim}")
    freqs = 1.0 / 10000 ** (torch.arange(0, dim, 2, device=device, dtype=torch.float32) / dim)
    angles = torch.arange(n, device=device, dtype=torch.float32)[:, None] * freqs[None, :]
    return torch.cat([angles.sin(), angles.cos()], dim=1)

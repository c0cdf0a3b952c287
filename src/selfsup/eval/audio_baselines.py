"""The hand-made audio baseline every learned encoder must beat: MFCC statistics.

Each clip becomes the mean and standard deviation, over its real frames only, of its MFCCs and
their first and second time derivatives (the classic "MFCC + deltas" utterance vector). A
linear probe on these is the issue's "MFCC + logistic regression" row.
"""

from __future__ import annotations

import torch
from torch import nn

from selfsup.nn.audio_features import MFCC
from selfsup.nn.audio_padding import lengths_mask

DELTA_WIDTH = 2
"""Frames each side in the delta regression (librosa / HTK use 2, i.e. a 5-frame window)."""


class MFCCStats(nn.Module):
    """NaN-padded waveforms ``[B, T]`` -> ``[B, 2 * n_mfcc * (1 + deltas)]`` MFCC statistics.

    ``deltas``: 0 (MFCC only), 1 (+ deltas) or 2 (+ delta-deltas). Padding never changes a
    clip's vector: MFCC frames past a clip's end are dropped before every statistic.
    """

    modality = "audio"

    def __init__(self, sample_rate: int, n_mfcc: int = 20, n_mels: int = 40, deltas: int = 2):
        super().__init__()
        if deltas not in (0, 1, 2):
            raise ValueError(f"deltas must be 0, 1 or 2, got {deltas}")
        self.sample_rate = int(sample_rate)
        self.mfcc = MFCC(sample_rate, n_mfcc=n_mfcc, n_mels=n_mels)
        self.deltas = deltas
        self.feature_dim = 2 * n_mfcc * (1 + deltas)

    def forward_features(self, x: torch.Tensor) -> torch.Tensor:
        """The statistics vector of each clip (float32)."""
        coeffs, frames = self.mfcc(x.float())  # [B, C, F], frames [B]
        valid = lengths_mask(frames, coeffs.shape[-1])
        streams = [coeffs]
        for _ in range(self.deltas):
            streams.append(delta(streams[-1], frames))
        stacked = torch.cat(streams, dim=1)  # [B, C * (1 + deltas), F]
        return masked_mean_std(stacked, valid)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return self.forward_features(x)


def delta(coeffs: torch.Tensor, frames: torch.Tensor, width: int = DELTA_WIDTH) -> torch.Tensor:
    """Regression time derivative of ``[B, C, F]`` over ``+-width`` frames, each clip's edges
    repeated (its real last frame, not padding) as librosa's ``mode="nearest"`` does."""
    b, _, f = coeffs.shape
    pos = torch.arange(f, device=coeffs.device)
    last = (frames - 1).clamp(min=0)[:, None]  # [B, 1]
    out = torch.zeros_like(coeffs)
    for k in range(1, width + 1):
        ahead = torch.minimum(pos[None, :] + k, last).expand(b, f)
        behind = (pos[None, :] - k).clamp(min=0).expand(b, f)
        idx_a = ahead[:, None, :].expand_as(coeffs)
        idx_b = behind[:, None, :].expand_as(coeffs)
        out = out + k * (coeffs.gather(2, idx_a) - coeffs.gather(2, idx_b))
    return out / (2 * sum(k * k for k in range(1, width + 1)))


def masked_mean_std(x: torch.Tensor, valid: torch.Tensor) -> torch.Tensor:
    """``[B, C, F]`` -> ``[B, 2C]``: mean then (population) std over the frames ``valid [B, F]``."""
    w = valid[:, None, :].to(x.dtype)
    n = w.sum(-1).clamp(min=1.0)
    mean = (x * w).sum(-1) / n
    var = (((x - mean[..., None]) ** 2) * w).sum(-1) / n
    return torch.cat([mean, var.clamp(min=0).sqrt()], dim=1)

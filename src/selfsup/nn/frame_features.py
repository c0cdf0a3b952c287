"""MFCC frames (with deltas) at an encoder's frame rate: HuBERT's first-iteration features.

An encoder frame ``j`` reads samples ``[j * hop, j * hop + field)``; its MFCC row is the STFT
frame (``center=True``, so centred on sample ``t * hop``) nearest that span's centre, i.e.
``t = j + round(field / (2 * hop))``. So a clip gets exactly one row per encoder frame, and
labels made from them line up with the encoder's tokens.
"""

from __future__ import annotations

import torch
from torch import nn

from selfsup.nn.audio_features import MFCC, default_window


def deltas(x: torch.Tensor, width: int = 2) -> torch.Tensor:
    """HTK regression deltas of ``x [T, C]`` over +-``width`` frames, edges repeated."""
    if x.shape[0] == 0:
        return x.clone()
    padded = torch.cat([x[:1].expand(width, -1), x, x[-1:].expand(width, -1)])
    t = x.shape[0]
    num = torch.zeros_like(x)
    for n in range(1, width + 1):
        num += n * (padded[width + n : width + n + t] - padded[width - n : width - n + t])
    return num / (2 * sum(n * n for n in range(1, width + 1)))


class EncoderFrameMFCC(nn.Module):
    """NaN-padded waveforms ``[B, T]`` -> one ``[frames_b, n_mfcc * 3]`` tensor per clip:
    MFCC, deltas and delta-deltas (39 values for 13 coefficients), one row per encoder frame.

    Args:
        sample_rate: the waveforms' rate.
        hop: samples between encoder frames (the STFT hop too).
        field: samples one encoder frame reads (its receptive field).
        n_mfcc / n_mels: coefficients and mel bands (13 / 40).
        with_deltas: append deltas and delta-deltas.
    """

    def __init__(
        self,
        sample_rate: int,
        hop: int,
        field: int,
        n_mfcc: int = 13,
        n_mels: int = 40,
        with_deltas: bool = True,
    ) -> None:
        super().__init__()
        if hop < 1 or field < 1:
            raise ValueError(f"need hop >= 1 and field >= 1, got {hop} and {field}")
        self.mfcc = MFCC(
            sample_rate,
            n_mfcc=n_mfcc,
            n_mels=n_mels,
            n_fft=default_window(sample_rate),
            hop_length=hop,
        )
        self.shift = round(field / (2 * hop))
        self.with_deltas = with_deltas

    @property
    def dim(self) -> int:
        """Values per frame."""
        return self.mfcc.n_mfcc * (3 if self.with_deltas else 1)

    def forward(self, x: torch.Tensor, frames: torch.Tensor) -> list[torch.Tensor]:
        """``frames [B]``: each clip's encoder frame count."""
        coeffs, stft_frames = self.mfcc(x)  # [B, n_mfcc, F], [B]
        out = []
        for b, n in enumerate(frames.tolist()):
            real = coeffs[b, :, : int(stft_frames[b])].T  # [F_b, n_mfcc]
            index = (torch.arange(n, device=x.device) + self.shift).clamp(max=len(real) - 1)
            rows = real[index]
            if self.with_deltas:
                first = deltas(real)
                rows = torch.cat([rows, first[index], deltas(first)[index]], dim=1)
            out.append(rows)
        return out

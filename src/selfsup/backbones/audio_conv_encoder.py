"""wav2vec 2.0's convolutional feature encoder, exact for NaN-padded clips.

Seven unpadded 1-D convolutions turn the waveform into frames. At 16 kHz the paper's kernels
``(10, 3, 3, 3, 3, 2, 2)`` and strides ``(5, 2, 2, 2, 2, 2, 2)`` give one frame per 320
samples (20 ms) with a 400-sample (25 ms) receptive field. Other rates keep frames near 20 ms
(:func:`conv_layout`): the hop is ``round(0.02 * sample_rate)``; as many of the six stride-2
layers are kept as leave a first stride of at least 4, the rest get stride 1 (from the last
layer back), and the first layer's stride is the hop over the kept layers' product, rounded,
with a kernel twice that. 8 kHz: strides ``(5, 2, 2, 2, 2, 2, 1)`` = 160 samples = 20 ms.

Padding is exact: a frame counts as real when its whole receptive field lies in the clip's
real samples (the unpadded-conv length formula, layer by layer), the first layer's
per-channel group norm takes its statistics over those real frames only, and a clip shorter
than the receptive field is read as if zero-padded to it (one frame). So a clip gives the same
real frames alone or in any batch.
"""

from __future__ import annotations

from collections.abc import Sequence

import torch
import torch.nn.functional as F
from torch import nn

from selfsup.nn.audio_padding import clip_lengths, lengths_mask, zero_padding

PAPER_KERNELS = (10, 3, 3, 3, 3, 2, 2)
PAPER_STRIDES = (5, 2, 2, 2, 2, 2, 2)
_MIN_FIRST_STRIDE = 4


def conv_layout(sample_rate: int, frame_ms: float = 20.0) -> tuple[tuple[int, ...], ...]:
    """``(kernels, strides)`` of the 7 layers for frames of about ``frame_ms`` (module doc)."""
    hop = max(1, round(sample_rate * frame_ms / 1000.0))
    doubling = len(PAPER_STRIDES) - 1
    while doubling > 0 and hop / 2**doubling < _MIN_FIRST_STRIDE:
        doubling -= 1
    first = max(1, round(hop / 2**doubling))
    strides = (first,) + (2,) * doubling + (1,) * (len(PAPER_STRIDES) - 1 - doubling)
    kernels = (2 * first, *PAPER_KERNELS[1:])
    return kernels, strides


def conv_output_lengths(
    lengths: torch.Tensor, kernels: Sequence[int], strides: Sequence[int]
) -> torch.Tensor:
    """Frames each unpadded conv layer leaves of ``lengths`` samples (0 when too short)."""
    out = lengths
    for k, s in zip(kernels, strides, strict=True):
        out = torch.div(out - k, s, rounding_mode="floor").clamp(min=-1) + 1
    return out


def receptive_field(kernels: Sequence[int], strides: Sequence[int]) -> int:
    """Samples one output frame reads (400 for the paper's layout)."""
    field = 1
    for k, s in zip(reversed(kernels), reversed(strides), strict=True):
        field = (field - 1) * s + k
    return field


class MaskedChannelNorm(nn.Module):
    """GroupNorm with one group per channel (wav2vec 2.0's first layer), statistics over the
    real frames of each clip only: ``[B, C, N]`` and bool ``[B, N]``."""

    def __init__(self, channels: int, eps: float = 1e-5) -> None:
        super().__init__()
        self.eps = eps
        self.weight = nn.Parameter(torch.ones(channels))
        self.bias = nn.Parameter(torch.zeros(channels))

    def forward(self, x: torch.Tensor, valid: torch.Tensor) -> torch.Tensor:
        # Sums over real frames as matmuls and one fused scale-and-shift: the layer's
        # activations are the largest tensors of the model, so passes over them count.
        w = valid.to(x.dtype)[:, :, None]  # [B, N, 1]
        count = w.sum(1, keepdim=True).clamp(min=1.0)  # [B, 1, 1]
        mean = torch.bmm(x, w) / count  # [B, C, 1]
        var = (torch.bmm(x * x, w) / count - mean * mean).clamp(min=0.0)
        scale = self.weight[:, None] * torch.rsqrt(var + self.eps)
        return torch.addcmul(self.bias[:, None] - mean * scale, x, scale)


class ConvFeatureEncoder(nn.Module):
    """NaN-padded waveform ``[B, T]`` -> (frames ``[B, N, conv_dim]``, real frames ``[B, N]``).

    Each layer: conv (no padding) then GELU; the first also has :class:`MaskedChannelNorm`.
    ``normalize_waveform`` standardises each clip over its real samples first (the paper's
    Large models do; Base does not). Frames past a clip's end are zeroed.
    """

    def __init__(
        self,
        sample_rate: int,
        conv_dim: int,
        frame_ms: float = 20.0,
        conv_bias: bool = False,
        normalize_waveform: bool = False,
    ) -> None:
        super().__init__()
        if sample_rate < 1000:
            raise ValueError(f"sample_rate must be at least 1000 Hz, got {sample_rate}")
        if conv_dim < 1:
            raise ValueError(f"conv_dim must be >= 1, got {conv_dim}")
        self.kernels, self.strides = conv_layout(sample_rate, frame_ms)
        self.hop = 1
        for s in self.strides:
            self.hop *= s
        self.receptive_field = receptive_field(self.kernels, self.strides)
        self.normalize_waveform = normalize_waveform
        inputs = [1] + [conv_dim] * (len(self.kernels) - 1)
        convs = [
            nn.Conv1d(c_in, conv_dim, k, stride=s, bias=conv_bias)
            for c_in, k, s in zip(inputs, self.kernels, self.strides, strict=True)
        ]
        for conv in convs:
            nn.init.kaiming_normal_(conv.weight)
        self.convs = nn.ModuleList(convs)
        self.first_norm = MaskedChannelNorm(conv_dim)

    def effective_lengths(self, x: torch.Tensor) -> torch.Tensor:
        """Real samples per clip, raised to the receptive field (a short clip reads zeros)."""
        return clip_lengths(x).clamp(min=self.receptive_field)

    def output_lengths(self, x: torch.Tensor) -> torch.Tensor:
        """int64 ``[B]``: real frames per clip (at least 1)."""
        return conv_output_lengths(self.effective_lengths(x), self.kernels, self.strides)

    def batch_frames(self, samples: int) -> int:
        """Frames the encoder outputs for a batch of ``samples`` samples."""
        n = max(samples, self.receptive_field)
        for k, s in zip(self.kernels, self.strides, strict=True):
            n = (n - k) // s + 1
        return n

    def valid_frames(self, x: torch.Tensor) -> torch.Tensor:
        """bool ``[B, N]``: True at frames whose receptive field is all real samples."""
        return lengths_mask(self.output_lengths(x), self.batch_frames(x.shape[1]))

    def _waveform(self, x: torch.Tensor) -> torch.Tensor:
        wave, real = zero_padding(x)
        if self.normalize_waveform:
            w = real.to(wave.dtype)
            count = w.sum(-1, keepdim=True).clamp(min=1.0)
            mean = wave.sum(-1, keepdim=True) / count
            var = ((wave - mean).pow(2) * w).sum(-1, keepdim=True) / count
            wave = ((wave - mean) * torch.rsqrt(var + 1e-5)) * w
        short = self.receptive_field - wave.shape[1]
        return F.pad(wave, (0, short)) if short > 0 else wave

    def forward(self, x: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
        lengths = self.effective_lengths(x)
        h = self._waveform(x)[:, None, :]  # [B, 1, T]
        for i, conv in enumerate(self.convs):
            h = conv(h)
            if i == 0:
                first = conv_output_lengths(lengths, self.kernels[:1], self.strides[:1])
                h = self.first_norm(h, lengths_mask(first, h.shape[-1]))
            h = F.gelu(h)
        valid = lengths_mask(conv_output_lengths(lengths, self.kernels, self.strides), h.shape[-1])
        feats = h.transpose(1, 2).masked_fill(~valid[..., None], 0.0)
        return feats, valid

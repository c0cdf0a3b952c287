"""The batched waveform operations behind ``AudioViews``, one function each.

All but ``crop`` take the view with its padding already set to 0 and the clips' real lengths,
touch real samples only, and leave padding positions at 0 (the caller puts the NaN back).
"""

from __future__ import annotations

import torch

from selfsup.nn.audio_padding import PAD_VALUE


def crop(x: torch.Tensor, offset: torch.Tensor, window: int) -> torch.Tensor:
    """``[B, window]``: each row of the NaN-padded ``x`` from its ``offset`` on; rows running
    past the batch's end (clips shorter than the window) come back NaN-padded."""
    total = x.shape[1]
    if total < window:
        pad = torch.full((x.shape[0], window - total), PAD_VALUE, dtype=x.dtype, device=x.device)
        x = torch.cat([x, pad], dim=1)
    index = offset[:, None] + torch.arange(window, device=x.device)[None, :]
    return x.gather(1, index)


def time_shift(
    x: torch.Tensor, lengths: torch.Tensor, shift: torch.Tensor, circular: bool
) -> torch.Tensor:
    """Move each clip's real samples ``shift`` places right (left when negative): circularly
    within the clip, or with the vacated samples set to 0."""
    t = torch.arange(x.shape[1], device=x.device)[None, :]
    length = lengths[:, None]
    inside = t < length
    if circular:
        # A shift modulo the clip's length in [0, L): one wrap-around add, no remainder of [B, T].
        source = t - torch.remainder(shift, lengths.clamp(min=1))[:, None]
        source = torch.where(source < 0, source + length, source)
        valid = inside
    else:
        source = t - shift[:, None]
        valid = inside & (source >= 0) & (source < length)
    moved = x.gather(1, source.clamp_(0, x.shape[1] - 1))
    return torch.where(valid, moved, torch.zeros((), dtype=x.dtype, device=x.device))


def apply_gain(x: torch.Tensor, gain_db: torch.Tensor) -> torch.Tensor:
    """``x * 10 ** (gain_db / 20)`` per clip."""
    return x * torch.pow(10.0, gain_db / 20.0)[:, None]


def add_noise(
    x: torch.Tensor,
    mask: torch.Tensor,
    noise: torch.Tensor,
    snr_db: torch.Tensor,
    exponent: torch.Tensor | None,
    on: torch.Tensor,
) -> torch.Tensor:
    """``x`` plus ``noise`` (coloured to a ``1 / f ** exponent`` power spectrum when given)
    scaled so that, over each clip's real samples, signal power / noise power = ``snr_db``.

    Silent clips get no noise: an SNR relative to zero power is undefined.
    """
    if exponent is not None:
        noise = colour_noise(noise, exponent)
    noise = noise * mask
    count = mask.sum(dim=1).clamp(min=1)
    signal_power = x.square().sum(dim=1) / count
    noise_power = (noise.square().sum(dim=1) / count).clamp(min=torch.finfo(x.dtype).tiny)
    scale = torch.sqrt(signal_power / (noise_power * torch.pow(10.0, snr_db / 10.0)))
    return x + torch.where(on, scale, 0.0)[:, None] * noise


def colour_noise(noise: torch.Tensor, exponent: torch.Tensor) -> torch.Tensor:
    """Shape white ``noise`` ``[B, T]`` to a power spectrum ``1 / f ** exponent`` per row
    (amplitude ``f ** (-exponent / 2)``; the DC bin is dropped). Its scale is arbitrary:
    ``add_noise`` sets the power."""
    n = noise.shape[1]
    spectrum = torch.fft.rfft(noise, dim=1)
    freqs = torch.fft.rfftfreq(n, device=noise.device)
    freqs[0] = 1.0  # any finite value: the DC bin is zeroed below
    amplitude = torch.pow(freqs[None, :], -exponent[:, None] / 2)
    amplitude[:, 0] = 0.0
    return torch.fft.irfft(spectrum * amplitude, n=n, dim=1)


def frequency_masks(
    x: torch.Tensor,
    lengths: torch.Tensor,
    lo_hz: torch.Tensor,
    hi_hz: torch.Tensor,
    sample_rate: int,
) -> torch.Tensor:
    """Remove the bands ``[lo_hz, hi_hz)`` (``[B, M]``) from each clip's real samples.

    The DFT is taken over exactly the clip's real samples, so a removed band is empty in that
    clip's own spectrum; clips of equal length share one batched ``rfft`` (one group per
    distinct length: after a crop, usually one or two).
    """
    out = x.clone()
    for length in torch.unique(lengths).tolist():
        rows = (lengths == length).nonzero().squeeze(1)
        spectrum = torch.fft.rfft(x[rows, :length], dim=1)
        freqs = torch.arange(spectrum.shape[1], device=x.device) * (sample_rate / length)
        lo, hi = lo_hz[rows, :, None], hi_hz[rows, :, None]
        band = ((freqs >= lo) & (freqs < hi)).any(dim=1)
        spectrum = spectrum.masked_fill(band, 0)
        out[rows, :length] = torch.fft.irfft(spectrum, n=length, dim=1)
    return out


def time_masks(x: torch.Tensor, start: torch.Tensor, width: torch.Tensor) -> torch.Tensor:
    """Zero the spans ``[start, start + width)`` (``[B, M]``, in samples) of each clip."""
    t = torch.arange(x.shape[1], device=x.device)[None, None, :]
    spans = (t >= start[..., None]) & (t < (start + width)[..., None])
    return x.masked_fill(spans.any(dim=1), 0.0)

"""Log-mel and MFCC features of NaN-padded waveform batches, computed on the batch's device.

The conventions follow librosa's defaults so features match it (tests check within 1e-4):
a periodic Hann window, ``center=True`` with zero ("constant") edge padding, power 2, the
HTK or Slaney mel scale, optional Slaney area normalisation, ``power_to_db`` with ``ref=1``,
``amin=1e-10`` and ``top_db=80`` taken per clip, and an orthonormal DCT-II for MFCC.

Zero edge padding matters beyond matching librosa: a clip's padding is zeroed before the STFT,
so every frame centred on a real sample sees exactly what it would see if the clip were alone.
Frames centred on padding are set to ``pad_value``, so the output does not depend on what the
clip was batched with.
"""

from __future__ import annotations

import math
from typing import Literal

import torch
from torch import nn

from selfsup.nn.audio_padding import clip_lengths, frames_of, lengths_mask, zero_padding

MelScale = Literal["htk", "slaney"]
MelNorm = Literal["slaney"] | None

_SLANEY_LINEAR_HZ_PER_MEL = 200.0 / 3.0
_SLANEY_LOG_START_HZ = 1000.0
_SLANEY_LOG_START_MEL = _SLANEY_LOG_START_HZ / _SLANEY_LINEAR_HZ_PER_MEL
_SLANEY_LOG_STEP = math.log(6.4) / 27.0


def hz_to_mel(hz: torch.Tensor, scale: MelScale = "htk") -> torch.Tensor:
    """Frequencies in Hz to mels (HTK: ``2595 log10(1 + f/700)``; Slaney: linear then log)."""
    if scale == "htk":
        return 2595.0 * torch.log10(1.0 + hz / 700.0)
    linear = hz / _SLANEY_LINEAR_HZ_PER_MEL
    log_part = (
        _SLANEY_LOG_START_MEL
        + torch.log(hz.clamp(min=_SLANEY_LOG_START_HZ) / _SLANEY_LOG_START_HZ) / _SLANEY_LOG_STEP
    )
    return torch.where(hz >= _SLANEY_LOG_START_HZ, log_part, linear)


def mel_to_hz(mel: torch.Tensor, scale: MelScale = "htk") -> torch.Tensor:
    """The inverse of :func:`hz_to_mel`."""
    if scale == "htk":
        return 700.0 * (10.0 ** (mel / 2595.0) - 1.0)
    linear = mel * _SLANEY_LINEAR_HZ_PER_MEL
    log_part = _SLANEY_LOG_START_HZ * torch.exp(_SLANEY_LOG_STEP * (mel - _SLANEY_LOG_START_MEL))
    return torch.where(mel >= _SLANEY_LOG_START_MEL, log_part, linear)


def _check_scale(scale: str, norm: str | None) -> None:
    if scale not in ("htk", "slaney"):
        raise ValueError(f"mel scale must be 'htk' or 'slaney', not {scale!r}")
    if norm not in (None, "slaney"):
        raise ValueError(f"mel norm must be None or 'slaney', not {norm!r}")


def mel_filterbank(
    sample_rate: int,
    n_fft: int,
    n_mels: int,
    f_min: float = 0.0,
    f_max: float | None = None,
    scale: MelScale = "htk",
    norm: MelNorm = None,
    dtype: torch.dtype = torch.float64,
) -> torch.Tensor:
    """Triangular mel filters ``[n_mels, n_fft // 2 + 1]`` over the STFT's frequency bins.

    Filter ``i`` rises from mel point ``i`` to ``i + 1`` and falls to ``i + 2`` (points evenly
    spaced in mels between ``f_min`` and ``f_max``, default Nyquist). ``norm="slaney"``
    divides each filter by its width in Hz / 2 so every band has the same area (librosa's
    default); ``None`` leaves peaks at 1.
    """
    _check_scale(scale, norm)
    top = float(sample_rate) / 2 if f_max is None else float(f_max)
    if not 0.0 <= f_min < top <= sample_rate / 2:
        raise ValueError(f"need 0 <= f_min < f_max <= {sample_rate / 2} Hz, got {f_min}, {top}")
    bins = torch.linspace(0.0, sample_rate / 2, n_fft // 2 + 1, dtype=torch.float64)
    edges = torch.tensor([f_min, top], dtype=torch.float64)
    mel_lo, mel_hi = hz_to_mel(edges, scale).tolist()
    points = mel_to_hz(torch.linspace(mel_lo, mel_hi, n_mels + 2, dtype=torch.float64), scale)
    widths = points.diff()
    ramps = points[:, None] - bins[None, :]
    rising = -ramps[:-2] / widths[:-1, None]
    falling = ramps[2:] / widths[1:, None]
    weights = torch.minimum(rising, falling).clamp(min=0.0)
    if norm == "slaney":
        weights = weights * (2.0 / (points[2:] - points[:-2]))[:, None]
    return weights.to(dtype)


class MelFilterbank(nn.Module):
    """``[..., n_freqs, frames]`` power spectrogram -> ``[..., n_mels, frames]`` mel power."""

    def __init__(
        self,
        sample_rate: int,
        n_fft: int,
        n_mels: int,
        f_min: float = 0.0,
        f_max: float | None = None,
        scale: MelScale = "htk",
        norm: MelNorm = None,
    ) -> None:
        super().__init__()
        self._args = (sample_rate, n_fft, n_mels, f_min, f_max, scale, norm)
        # Derived from the arguments, so kept out of state dicts (no checkpoint carries it);
        # float32 because every device holds it.
        fb = mel_filterbank(*self._args, dtype=torch.float32)
        self.register_buffer("weights", fb, persistent=False)
        self.weights: torch.Tensor

    def forward(self, power: torch.Tensor) -> torch.Tensor:
        weights = self.weights
        if power.dtype == torch.float64:  # exact filters for float64 work (comparisons)
            weights = mel_filterbank(*self._args, dtype=torch.float64).to(power.device)
        return torch.matmul(weights.to(power.dtype), power)


def power_to_db(
    power: torch.Tensor,
    frame_mask: torch.Tensor | None = None,
    amin: float = 1e-10,
    top_db: float | None = 80.0,
) -> torch.Tensor:
    """``10 log10(max(amin, power))`` (ref 1), floored at each clip's peak minus ``top_db``.

    ``power`` is ``[B, F, frames]``; the peak is taken over each clip's real frames only
    (``frame_mask`` ``[B, frames]``), as librosa takes it over the one clip it is given.
    """
    db = 10.0 * torch.log10(power.clamp(min=amin))
    if top_db is None:
        return db
    real = db if frame_mask is None else db.masked_fill(~frame_mask[:, None, :], -math.inf)
    peak = real.amax(dim=(1, 2), keepdim=True)
    return torch.maximum(db, peak - top_db)


def dct_ii_ortho(
    n_in: int,
    n_out: int,
    dtype: torch.dtype = torch.float64,
    device: torch.device | str | None = None,
) -> torch.Tensor:
    """``[n_out, n_in]`` orthonormal DCT-II matrix (scipy's ``dct(type=2, norm="ortho")``)."""
    n = torch.arange(n_in, dtype=dtype, device=device)
    k = torch.arange(n_out, dtype=dtype, device=device)[:, None]
    basis = torch.cos(math.pi * k * (2 * n + 1) / (2 * n_in)) * math.sqrt(2.0 / n_in)
    basis[0] /= math.sqrt(2.0)
    return basis


def default_window(sample_rate: int) -> int:
    """25 ms in samples, the usual speech analysis window (400 at 16 kHz, 200 at 8 kHz)."""
    return max(1, round(0.025 * sample_rate))


def default_hop(sample_rate: int) -> int:
    """10 ms in samples (160 at 16 kHz, 80 at 8 kHz)."""
    return max(1, round(0.010 * sample_rate))


class LogMel(nn.Module):
    """NaN-padded waveform ``[B, T]`` -> (log-mel dB ``[B, n_mels, frames]``, frames ``[B]``).

    ``n_fft`` / ``hop_length`` default to 25 ms / 10 ms at ``sample_rate``. A clip of ``L``
    real samples has ``L // hop + 1`` frames (:func:`frames_of`); frames past that are set to
    ``pad_value`` (default: the dB floor ``10 log10(amin)``) so batching never shows through.
    """

    def __init__(
        self,
        sample_rate: int,
        n_mels: int = 64,
        n_fft: int | None = None,
        hop_length: int | None = None,
        win_length: int | None = None,
        f_min: float = 0.0,
        f_max: float | None = None,
        scale: MelScale = "htk",
        norm: MelNorm = None,
        power: float = 2.0,
        amin: float = 1e-10,
        top_db: float | None = 80.0,
        pad_value: float | None = None,
    ) -> None:
        super().__init__()
        self.sample_rate = int(sample_rate)
        self.n_fft = int(n_fft) if n_fft is not None else default_window(sample_rate)
        self.hop_length = int(hop_length) if hop_length is not None else default_hop(sample_rate)
        self.win_length = int(win_length) if win_length is not None else self.n_fft
        if not 0 < self.win_length <= self.n_fft or self.hop_length <= 0:
            raise ValueError("need 0 < win_length <= n_fft and hop_length > 0")
        self.n_mels = int(n_mels)
        self.power = float(power)
        self.amin = float(amin)
        self.top_db = top_db
        self.pad_value = 10.0 * math.log10(amin) if pad_value is None else float(pad_value)
        self.mel = MelFilterbank(sample_rate, self.n_fft, n_mels, f_min, f_max, scale, norm)
        window = torch.hann_window(self.win_length, periodic=True)
        self.register_buffer("window", window, persistent=False)
        self.window: torch.Tensor

    def frame_lengths(self, x: torch.Tensor) -> torch.Tensor:
        """int64 ``[B]``: each clip's number of frames (from its real samples)."""
        return frames_of(clip_lengths(x), self.n_fft, self.hop_length, center=True)

    def mel_power(self, x: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
        """Mel power ``[B, n_mels, frames]`` (padding frames untouched) and frame lengths."""
        if x.ndim != 2:
            raise ValueError(f"LogMel expects a [B, T] waveform batch, got {tuple(x.shape)}")
        wave, _ = zero_padding(x)
        window = self.window
        if wave.dtype == torch.float64:
            window = torch.hann_window(self.win_length, dtype=wave.dtype, device=wave.device)
        spec = torch.stft(
            wave,
            self.n_fft,
            hop_length=self.hop_length,
            win_length=self.win_length,
            window=window.to(wave.dtype),
            center=True,
            pad_mode="constant",
            return_complex=True,
        )
        power = spec.abs().pow(self.power)
        return self.mel(power), self.frame_lengths(x)

    def forward(self, x: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
        mel, frames = self.mel_power(x)
        mask = lengths_mask(frames, mel.shape[-1])
        db = power_to_db(mel, mask, self.amin, self.top_db)
        return db.masked_fill(~mask[:, None, :], self.pad_value), frames


class MFCC(nn.Module):
    """NaN-padded waveform ``[B, T]`` -> (MFCC ``[B, n_mfcc, frames]``, frames ``[B]``).

    The DCT-II (orthonormal) of the dB mel power, as ``librosa.feature.mfcc`` computes it
    with the same STFT and filterbank settings (librosa's filterbank defaults: Slaney scale
    and norm). Padding frames are 0.
    """

    def __init__(
        self,
        sample_rate: int,
        n_mfcc: int = 20,
        n_mels: int = 64,
        n_fft: int | None = None,
        hop_length: int | None = None,
        win_length: int | None = None,
        f_min: float = 0.0,
        f_max: float | None = None,
        scale: MelScale = "slaney",
        norm: MelNorm = "slaney",
        top_db: float | None = 80.0,
    ) -> None:
        super().__init__()
        if not 0 < n_mfcc <= n_mels:
            raise ValueError(f"need 0 < n_mfcc <= n_mels, got {n_mfcc} and {n_mels}")
        self.n_mfcc = int(n_mfcc)
        self.log_mel = LogMel(
            sample_rate,
            n_mels=n_mels,
            n_fft=n_fft,
            hop_length=hop_length,
            win_length=win_length,
            f_min=f_min,
            f_max=f_max,
            scale=scale,
            norm=norm,
            top_db=top_db,
        )

    def forward(self, x: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
        mel, frames = self.log_mel.mel_power(x)
        mask = lengths_mask(frames, mel.shape[-1])
        db = power_to_db(mel, mask, self.log_mel.amin, self.log_mel.top_db)
        # Built per call in the input's dtype (a few hundred cosines): float64 inputs get a
        # float64 transform, and no buffer needs a dtype every device supports.
        dct = dct_ii_ortho(db.shape[1], self.n_mfcc, db.dtype, db.device)
        coeffs = torch.matmul(dct, db)
        return coeffs.masked_fill(~mask[:, None, :], 0.0), frames

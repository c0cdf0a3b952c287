"""Per-sample random parameters of one audio view, drawn for the whole batch at once.

Like the image views' parameters, a view draws the same number of uniform values whatever its
probabilities (one ``torch.rand`` call, plus the noise itself when the spec adds noise), on the
generator's device, so a seed fixes the views. Everything is drawn from the clips' lengths
alone, before any sample is touched: crops, shifts and masks always lie within real samples.
"""

from __future__ import annotations

from dataclasses import dataclass

import torch

from selfsup.augment.audio_spec import AudioViewSpec

# Column layout of the uniform draws; time-mask and frequency-mask columns follow.
_OFFSET, _SHIFT_ON, _SHIFT, _GAIN_ON, _GAIN, _NOISE_ON, _SNR, _EXPONENT, _TIME_N, _FREQ_N = range(
    10
)
_FIXED = 10


@dataclass
class AudioViewParams:
    """The drawn parameters of one view for ``B`` clips (``[B]`` tensors unless noted).

    ``offset``: crop start in the source clip; ``lengths``: real samples of the view (the
    crop, or the whole clip when shorter); ``shift``: samples moved right (negative: left),
    0 where no shift; ``gain_db``: 0 where no gain; ``noise_on`` / ``snr_db`` /
    ``noise_exponent`` and ``noise`` (``[B, T_view]`` unit white Gaussian draws, or None when
    the spec adds no noise); ``time_start`` / ``time_width``: ``[B, time_masks]`` spans in
    samples of the view (width 0: unused slot); ``freq_lo`` / ``freq_hi``: ``[B, freq_masks]``
    band edges in Hz (equal: unused slot).
    """

    offset: torch.Tensor
    lengths: torch.Tensor
    shift: torch.Tensor
    gain_db: torch.Tensor
    noise_on: torch.Tensor
    snr_db: torch.Tensor
    noise_exponent: torch.Tensor
    noise: torch.Tensor | None
    time_start: torch.Tensor
    time_width: torch.Tensor
    freq_lo: torch.Tensor
    freq_hi: torch.Tensor


def view_length(spec: AudioViewSpec, total: int) -> int:
    """Samples per row of the view of a batch ``total`` samples long."""
    return total if spec.window is None else spec.window


def sample_audio_params(
    spec: AudioViewSpec,
    lengths: torch.Tensor,
    total: int,
    generator: torch.Generator | None = None,
) -> AudioViewParams:
    """Draw one view's parameters for clips of ``lengths`` real samples in a batch of ``total``."""
    device = lengths.device
    batch = lengths.shape[0]
    mt, mf = spec.time_masks, spec.freq_masks
    u = torch.rand(batch, _FIXED + 2 * mt + 2 * mf, device=device, generator=generator)
    out_len = view_length(spec, total)
    noise = None
    if spec.noise_p > 0:
        noise = torch.randn(batch, out_len, device=device, generator=generator)

    window = lengths if spec.window is None else torch.clamp(lengths, max=spec.window)
    slack = lengths - window  # 0 for clips no longer than the window: kept whole
    offset = _uniform_int(u[:, _OFFSET], slack)
    reach = round(spec.shift_seconds * spec.sample_rate)
    shift = torch.round((2 * u[:, _SHIFT] - 1) * reach).long()
    shift = torch.where(u[:, _SHIFT_ON] < spec.shift_p, shift, 0)
    gain = _in_range(u[:, _GAIN], spec.gain_db)
    noise_on = u[:, _NOISE_ON] < spec.noise_p

    cols = _FIXED
    t_on = _slots(u[:, _TIME_N], mt)
    t_max = torch.clamp(window, max=round(spec.time_mask_ms * spec.sample_rate / 1000))
    t_width = torch.where(t_on, _uniform_int(u[:, cols : cols + mt], t_max[:, None]), 0)
    t_start = _uniform_int(u[:, cols + mt : cols + 2 * mt], window[:, None] - t_width)
    cols += 2 * mt

    f_on = _slots(u[:, _FREQ_N], mf)
    f_width = torch.where(f_on, u[:, cols : cols + mf] * spec.freq_mask_width, 0.0)
    f_lo = u[:, cols + mf : cols + 2 * mf] * (spec.freq_axis_top - f_width)
    f_lo_hz, f_hi_hz = _to_hz(f_lo, spec), _to_hz(f_lo + f_width, spec)
    return AudioViewParams(
        offset=offset,
        lengths=window,
        shift=shift,
        gain_db=torch.where(u[:, _GAIN_ON] < spec.gain_p, gain, 0.0),
        noise_on=noise_on,
        snr_db=_in_range(u[:, _SNR], spec.snr_db),
        noise_exponent=_in_range(u[:, _EXPONENT], spec.noise_exponent),
        noise=noise,
        time_start=t_start,
        time_width=t_width,
        freq_lo=f_lo_hz,
        freq_hi=torch.where(f_on, f_hi_hz, f_lo_hz),
    )


def _uniform_int(u: torch.Tensor, top: torch.Tensor) -> torch.Tensor:
    """Integers uniform in ``0..top`` (inclusive) from uniforms ``u`` in [0, 1)."""
    return torch.minimum((u * (top + 1)).long(), top)


def _in_range(u: torch.Tensor, bounds: tuple[float, float]) -> torch.Tensor:
    lo, hi = bounds
    return lo + (hi - lo) * u


def _slots(u: torch.Tensor, slots: int) -> torch.Tensor:
    """``[B, slots]`` bool: the first ``k`` slots on, ``k`` uniform in ``0..slots``."""
    count = _uniform_int(u, torch.full_like(u, slots, dtype=torch.long))
    return torch.arange(slots, device=u.device)[None, :] < count[:, None]


def _to_hz(value: torch.Tensor, spec: AudioViewSpec) -> torch.Tensor:
    """Frequency-mask axis values (Hz or HTK mels) in Hz."""
    if spec.freq_mask_scale == "hz":
        return value
    return 700.0 * (torch.pow(10.0, value / 2595.0) - 1.0)

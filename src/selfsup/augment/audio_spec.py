"""``AudioViewSpec``: the recipe for one augmented view of a NaN-padded waveform batch.

Durations are in seconds (crop, shift) or milliseconds (time masks) and frequencies in Hz (or
mels), so one recipe means the same thing at 8 and at 16 kHz; ``sample_rate`` turns them into
samples and DFT bins.
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from typing import Literal

ShiftMode = Literal["circular", "zero"]
FreqScale = Literal["hz", "mel"]


def hz_to_mel(hz: float) -> float:
    """HTK mel scale (O'Shaughnessy 1987): ``2595 log10(1 + f / 700)``."""
    return 2595.0 * math.log10(1.0 + hz / 700.0)


@dataclass(frozen=True)
class AudioViewSpec:
    """One view: random crop -> time shift -> gain -> noise -> frequency masks -> time masks.

    - ``crop_seconds``: window length; None keeps whole clips (the batch's length). A clip
      shorter than the window is kept whole and NaN-padded to it.
    - ``shift_p`` / ``shift_seconds`` / ``shift_mode``: shift by up to ``shift_seconds`` either
      way within the clip's real samples, ``"circular"`` (samples leaving one end re-enter at
      the other: nothing is lost, one discontinuity at the seam) or ``"zero"`` (vacated samples
      become silence, samples shifted out are lost).
    - ``gain_p`` / ``gain_db``: multiply by ``10 ** (g / 20)``, ``g`` uniform in the range.
    - ``noise_p`` / ``snr_db`` / ``noise_exponent``: add Gaussian noise at an SNR (uniform in
      ``snr_db``) relative to each clip's own mean real-sample power; the noise's power
      spectrum falls as ``1 / f ** beta``, ``beta`` uniform in ``noise_exponent`` (0 white,
      1 pink, 2 brown).
    - ``time_masks`` / ``time_mask_ms``: up to that many spans (the count uniform in
      ``0..time_masks``), each up to ``time_mask_ms`` long, zeroed.
    - ``freq_masks`` / ``freq_mask_width`` / ``freq_mask_scale``: up to that many bands removed,
      each up to ``freq_mask_width`` wide and placed uniformly on a linear (``"hz"``, width in
      Hz) or mel (``"mel"``, width in mels: wider in Hz at high frequencies) axis up to Nyquist.
    """

    sample_rate: int
    crop_seconds: float | None = None
    shift_p: float = 0.0
    shift_seconds: float = 0.0
    shift_mode: ShiftMode = "circular"
    gain_p: float = 0.0
    gain_db: tuple[float, float] = (-6.0, 6.0)
    noise_p: float = 0.0
    snr_db: tuple[float, float] = (10.0, 40.0)
    noise_exponent: tuple[float, float] = (0.0, 0.0)
    time_masks: int = 0
    time_mask_ms: float = 0.0
    freq_masks: int = 0
    freq_mask_width: float = 0.0
    freq_mask_scale: FreqScale = "hz"

    def __post_init__(self) -> None:
        for name in ("gain_db", "snr_db", "noise_exponent"):  # YAML gives lists
            value = tuple(float(v) for v in getattr(self, name))
            if len(value) != 2:
                raise ValueError(f"{name} needs two values (min, max), got {value}")
            object.__setattr__(self, name, value)
        if not isinstance(self.sample_rate, int) or self.sample_rate < 1:
            raise ValueError(f"sample_rate must be a positive int, got {self.sample_rate!r}")
        crop = self.crop_seconds
        if crop is not None and not crop * self.sample_rate >= 1:
            raise ValueError(f"crop_seconds must cover at least one sample, got {crop}")
        for name in ("shift_p", "gain_p", "noise_p"):
            p = getattr(self, name)
            if not 0 <= p <= 1:
                raise ValueError(f"{name} must be a probability in [0, 1], got {p}")
        for name in ("shift_seconds", "time_mask_ms", "freq_mask_width"):
            if not getattr(self, name) >= 0:
                raise ValueError(f"{name} must be >= 0, got {getattr(self, name)}")
        for name in ("gain_db", "snr_db", "noise_exponent"):
            lo, hi = getattr(self, name)
            if not (math.isfinite(lo) and math.isfinite(hi) and lo <= hi):
                raise ValueError(f"{name} must be finite with min <= max, got {(lo, hi)}")
        for name in ("time_masks", "freq_masks"):
            if not isinstance(getattr(self, name), int) or getattr(self, name) < 0:
                raise ValueError(f"{name} must be an int >= 0, got {getattr(self, name)!r}")
        if self.shift_mode not in ("circular", "zero"):
            raise ValueError(f"shift_mode must be 'circular' or 'zero', got {self.shift_mode!r}")
        if self.freq_mask_scale not in ("hz", "mel"):
            raise ValueError(f"freq_mask_scale must be 'hz' or 'mel', got {self.freq_mask_scale!r}")
        if self.freq_mask_width > self.freq_axis_top:
            raise ValueError(
                f"freq_mask_width {self.freq_mask_width} exceeds the whole "
                f"{self.freq_mask_scale} axis ({self.freq_axis_top:.0f} at Nyquist)"
            )

    @property
    def window(self) -> int | None:
        """The crop in samples (None: whole clips)."""
        if self.crop_seconds is None:
            return None
        return round(self.crop_seconds * self.sample_rate)

    @property
    def nyquist(self) -> float:
        """Half the sample rate, in Hz."""
        return self.sample_rate / 2

    @property
    def freq_axis_top(self) -> float:
        """Nyquist on the frequency-mask axis (Hz or mels)."""
        return self.nyquist if self.freq_mask_scale == "hz" else hz_to_mel(self.nyquist)

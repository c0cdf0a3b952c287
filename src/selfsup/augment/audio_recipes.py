"""Registered audio view recipes (``augment.name: audio_contrastive`` ...), each a list of
``AudioViewSpec`` handed to ``AudioViews``.

Strength defaults are untuned starting points in the range of the audio contrastive
literature (COLA, CLAR, BYOL-A): about 1 s crops, +-6 dB gain, noise at 10-40 dB SNR, short
SpecAugment-style masks. ``sample_rate`` must equal the data source's.
"""

from __future__ import annotations

from typing import Any

from selfsup.augment.audio import AudioViews
from selfsup.augment.audio_spec import AudioViewSpec, FreqScale, ShiftMode
from selfsup.augment.registry import register_augment

DEFAULT_RATE = 16000


def _spec(sample_rate: int, crop_seconds: float | None, **strengths: Any) -> AudioViewSpec:
    return AudioViewSpec(sample_rate=int(sample_rate), crop_seconds=crop_seconds, **strengths)


@register_augment("audio_contrastive", modality="audio")
def audio_contrastive(
    sample_rate: int = DEFAULT_RATE,
    crop_seconds: float = 1.0,
    shift_p: float = 0.5,
    shift_seconds: float = 0.1,
    shift_mode: ShiftMode = "circular",
    gain_p: float = 0.8,
    gain_db: tuple[float, float] = (-6.0, 6.0),
    noise_p: float = 0.8,
    snr_db: tuple[float, float] = (10.0, 40.0),
    noise_exponent: tuple[float, float] = (0.0, 2.0),
    time_masks: int = 2,
    time_mask_ms: float = 50.0,
    freq_masks: int = 2,
    freq_mask_width: float = 400.0,
    freq_mask_scale: FreqScale = "hz",
) -> AudioViews:
    """Two identically distributed views of each clip, for SimCLR, BYOL, MoCo and the rest of
    the two-view family: independent ``crop_seconds`` crops (two different stretches of a long
    clip are a positive pair, as in COLA), each with shift, gain, coloured noise and masks
    drawn independently (see :class:`AudioViewSpec` for every argument)."""
    spec = _spec(**dict(locals()))  # every argument is a spec field
    return AudioViews([spec, spec])


@register_augment("audio_multicrop", modality="audio")
def audio_multicrop(
    sample_rate: int = DEFAULT_RATE,
    crop_seconds: float = 1.0,
    local_seconds: float = 0.4,
    num_local: int = 4,
    shift_p: float = 0.5,
    shift_seconds: float = 0.1,
    shift_mode: ShiftMode = "circular",
    gain_p: float = 0.8,
    gain_db: tuple[float, float] = (-6.0, 6.0),
    noise_p: float = 0.8,
    snr_db: tuple[float, float] = (10.0, 40.0),
    noise_exponent: tuple[float, float] = (0.0, 2.0),
    time_masks: int = 2,
    time_mask_ms: float = 50.0,
    freq_masks: int = 2,
    freq_mask_width: float = 400.0,
    freq_mask_scale: FreqScale = "hz",
) -> AudioViews:
    """Multi-crop for DINO and SwAV: 2 global crops of ``crop_seconds``, then ``num_local``
    local crops of ``local_seconds``, every view augmented alike. Globals come first and views
    of one duration have one shape, so methods encode each group in one backbone pass."""
    strengths = dict(locals())  # every argument; the two below are not spec fields
    del strengths["local_seconds"], strengths["num_local"]
    if num_local < 0:
        raise ValueError(f"audio_multicrop num_local must be >= 0, got {num_local}")
    global_spec = _spec(**strengths)
    local_spec = _spec(**{**strengths, "crop_seconds": local_seconds})
    return AudioViews([global_spec] * 2 + [local_spec] * num_local)


@register_augment("audio_crop", modality="audio")
def audio_crop(
    sample_rate: int = DEFAULT_RATE,
    crop_seconds: float | None = 1.0,
    num_views: int = 1,
) -> AudioViews:
    """Random ``crop_seconds`` crops only (None: whole clips), for methods whose pretext task
    is itself the hard part (masked prediction); ``num_views`` independent crops."""
    if num_views < 1:
        raise ValueError(f"audio_crop num_views must be >= 1, got {num_views}")
    return AudioViews([_spec(sample_rate, crop_seconds)] * num_views)

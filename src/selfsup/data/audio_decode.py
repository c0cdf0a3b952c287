"""Audio file -> mono waveform at one sample rate, with soundfile (libsndfile) and scipy.

Every sample format libsndfile reads (8/16/24/32-bit integer PCM, 32/64-bit float; WAV, FLAC,
OGG Vorbis and the rest) comes out on one scale, full scale = 1.0 (integer PCM is divided by
2^(bits-1), as soundfile does). Several channels are averaged to one. A rate other than the
wanted one is converted with scipy's polyphase resampler at the exact rational ratio.

A clip that is 16-bit PCM, mono and already at the wanted rate is returned as its int16 samples:
half the memory of float32 and bit-exact. Everything else is float32.

Files that cannot be used raise :class:`BadAudio` with a reason the skip summary counts. A clip
holding NaN or inf is refused here, because inside a batch NaN marks padding
(:mod:`selfsup.nn.audio_padding`). Clipped and silent clips are usable, so they are returned
with a flag that the loader counts (and drops, for silent ones, when asked to).
"""

from __future__ import annotations

import dataclasses
import math
import os

import numpy as np
import soundfile as sf
from scipy.signal import resample_poly

AUDIO_EXTENSIONS = frozenset({".wav", ".flac", ".ogg"})
"""File extensions (lower case) treated as audio when scanning folders."""

BAD_AUDIO_REASONS = (
    "zero-byte",
    "no samples",
    "not audio",
    "malformed",
    "unreadable",
    "non-finite samples",
    "silent",  # only when silent clips are dropped
)

CLIP_LEVEL = 0.999
"""A sample at or above this magnitude (about -0.01 dBFS) sits at full scale."""
CLIP_FRACTION = 0.001
"""A clip with at least this share of its samples at full scale (and 3 or more) is clipped."""
SILENCE_PEAK = 10 ** (-60 / 20)
"""A clip whose loudest sample is below -60 dBFS is silent."""

INT16_SCALE = 32768.0
INT16_CLIP = math.ceil(CLIP_LEVEL * INT16_SCALE)


class BadAudio(Exception):
    """A file that cannot be used; ``reason`` is one of :data:`BAD_AUDIO_REASONS`."""

    def __init__(self, reason: str, detail: str = "") -> None:
        super().__init__(f"{reason}: {detail}" if detail else reason)
        self.reason = reason


@dataclasses.dataclass(frozen=True)
class DecodedClip:
    """``samples``: int16 (full scale 32768) or float32 (full scale 1.0) ``[T]``, mono at the
    requested rate; ``clipped`` / ``silent``: what the loader counts."""

    samples: np.ndarray
    clipped: bool
    silent: bool

    def as_float32(self) -> np.ndarray:
        """The samples as float32 on the 1.0 full scale."""
        if self.samples.dtype == np.int16:
            return self.samples.astype(np.float32) / np.float32(INT16_SCALE)
        return self.samples


def resample(x: np.ndarray, from_rate: int, to_rate: int) -> np.ndarray:
    """``x`` (``[T]`` float) from ``from_rate`` to ``to_rate`` Hz, float32; polyphase at the
    ratio ``to/g : from/g`` with ``g = gcd(from, to)`` (44,100 -> 8,000 Hz is up 80, down 441)."""
    if from_rate <= 0 or to_rate <= 0:
        raise ValueError(f"sample rates must be positive, got {from_rate} -> {to_rate}")
    if from_rate == to_rate:
        return x.astype(np.float32, copy=False)
    g = math.gcd(from_rate, to_rate)
    out = resample_poly(x.astype(np.float64, copy=False), to_rate // g, from_rate // g)
    return out.astype(np.float32)


def decode_audio_file(path: str, sample_rate: int) -> DecodedClip:
    """The mono waveform in ``path`` at ``sample_rate`` Hz; raises :class:`BadAudio`."""
    try:
        size = os.stat(path).st_size
    except OSError as err:
        raise BadAudio("unreadable", f"{path}: {err.strerror or err}") from None
    if size == 0:
        raise BadAudio("zero-byte", path)
    try:
        with sf.SoundFile(path) as f:
            rate, channels, subtype = f.samplerate, f.channels, f.subtype
            exact = subtype == "PCM_16" and channels == 1 and rate == sample_rate
            data = f.read(dtype="int16" if exact else "float32", always_2d=True)
    except sf.LibsndfileError as err:
        raise BadAudio(_failure_reason(err), f"{path}: {err}") from None
    except (OSError, RuntimeError, ValueError) as err:
        raise BadAudio("unreadable", f"{path}: {err}") from None
    if data.shape[0] == 0:
        raise BadAudio("no samples", path)
    if exact:
        samples = np.ascontiguousarray(data[:, 0])
        magnitude = np.abs(samples.astype(np.int32))
        at_full_scale = int(np.count_nonzero(magnitude >= INT16_CLIP))
        silent = float(magnitude.max()) / INT16_SCALE < SILENCE_PEAK
        return DecodedClip(samples, _is_clipped(at_full_scale, len(samples)), silent)
    if not np.isfinite(data).all():
        raise BadAudio("non-finite samples", path)
    mono = data.mean(axis=1, dtype=np.float64) if channels > 1 else data[:, 0]
    # The clipping check reads the file's own samples: resampling rings around a plateau.
    magnitude = np.abs(mono)
    clipped = _is_clipped(int(np.count_nonzero(magnitude >= CLIP_LEVEL)), len(mono))
    silent = float(magnitude.max()) < SILENCE_PEAK
    return DecodedClip(resample(mono, rate, sample_rate), clipped, silent)


def _is_clipped(at_full_scale: int, total: int) -> bool:
    return at_full_scale >= max(3, CLIP_FRACTION * total)


def _failure_reason(err: Exception) -> str:
    """Map libsndfile's messages: "Format not recognised" for files that are not audio; a
    broken header or stream ("malformed", "No 'data' chunk", "lost sync") is malformed."""
    text = str(err).lower()
    if "not recogni" in text or "unknown format" in text:
        return "not audio"
    if "malformed" in text or "chunk" in text or "sync" in text or "error in" in text:
        return "malformed"
    return "unreadable"

"""Helpers that write tiny audio files for the audio data tests."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import soundfile as sf

RATE = 8000
FSDD_PATTERN = r"(?P<digit>\d)_(?P<speaker>[a-z]+)_(?P<n>\d+)"


def tone(seconds: float, rate: int = RATE, freq: float = 440.0, amp: float = 0.5) -> np.ndarray:
    """A float32 sine of ``freq`` Hz."""
    t = np.arange(round(seconds * rate)) / rate
    return (amp * np.sin(2 * np.pi * freq * t)).astype(np.float32)


def write_audio(path: Path, x: np.ndarray, rate: int = RATE, subtype: str = "PCM_16") -> Path:
    """``x`` (``[T]`` or ``[T, C]``) written to ``path``; the format follows the suffix."""
    path.parent.mkdir(parents=True, exist_ok=True)
    sf.write(str(path), x, rate, subtype=subtype)
    return path


def fsdd_like(root: Path, speakers: tuple[str, ...] = ("ann", "bob"), takes: int = 6) -> Path:
    """``{digit}_{speaker}_{n}.wav`` for digits 0-2: 3 x len(speakers) x takes clips whose
    lengths (0.1 .. 0.35 s) differ by take; each digit has its own pitch."""
    for digit in range(3):
        for speaker in speakers:
            for n in range(takes):
                x = tone(0.1 + 0.05 * n, freq=300.0 + 100 * digit)
                write_audio(root / f"{digit}_{speaker}_{n}.wav", x)
    return root

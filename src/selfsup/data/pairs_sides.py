"""One side of a pairs manifest: which column it reads and how its modality decodes it.

A side is configured as a small dict, e.g. ``{modality: audio, column: wav, sample_rate:
16000}``; :func:`parse_side` checks it (one-line ConfigErrors) into a :class:`SideSpec`.
Decoding reuses each modality's own readers, so their skip reasons apply: images through
``decode_image`` (``BadImage`` reasons), audio through ``decode_files`` (``BadAudio`` reasons,
clipped and silent clips counted as kept), text through the tokenizer the source trains.
"""

from __future__ import annotations

import dataclasses
from collections.abc import Mapping, Sequence
from typing import Any

import numpy as np
import torch

from selfsup.data.audio import CLIPPED, SILENT, AudioClips, check_rates, decode_files
from selfsup.data.audio_decode import INT16_SCALE, BadAudio
from selfsup.data.decode import MAX_PIXELS, BadImage, decode_image
from selfsup.data.skips import SkipLog
from selfsup.registry import ConfigError, closest

SIDE_MODALITIES = ("image", "audio", "text")
UNREADABLE = "unreadable"


@dataclasses.dataclass(frozen=True)
class SideSpec:
    """What one side of a pair is: ``modality``, the manifest ``column`` it is read from, and
    that modality's reading keys (image: ``size``, ``max_pixels``; audio: ``sample_rate``,
    ``max_seconds``; text: ``max_len``, ``tokenizer``, ``vocab_size``)."""

    modality: str
    column: str
    size: int | None = None
    max_pixels: int = MAX_PIXELS
    sample_rate: int | None = None
    max_seconds: float | None = None
    max_len: int = 64
    tokenizer: str = "wordpiece"
    vocab_size: int = 8000


_KEYS = {
    "image": ("size", "max_pixels"),
    "audio": ("sample_rate", "max_seconds"),
    "text": ("max_len", "tokenizer", "vocab_size"),
}


def parse_side(name: str, value: Mapping[str, Any]) -> SideSpec:
    """``data.<name>`` as a :class:`SideSpec`; unknown keys, a missing column or modality and
    bad values are one-line ConfigErrors."""
    where = f"data.{name}"
    if not isinstance(value, Mapping):
        raise ConfigError(f"{where} must be a mapping like {{modality: text, column: caption}}")
    modality = value.get("modality")
    if modality not in SIDE_MODALITIES:
        raise ConfigError(f"{where}.modality must be one of {', '.join(SIDE_MODALITIES)}")
    allowed = ("modality", "column", *_KEYS[modality])
    for key in value:
        if key not in allowed:
            hint = closest(str(key), allowed)
            article = "a" if modality == "text" else "an"
            raise ConfigError(f"unknown key {where}.{key} for {article} {modality} side{hint}")
    if not isinstance(value.get("column"), str) or not value["column"]:
        raise ConfigError(f"{where}.column must name a manifest column")
    spec = SideSpec(**dict(value))
    if modality == "audio":
        if spec.sample_rate is None:
            raise ConfigError(f"{where}.sample_rate is required for an audio side")
        check_rates(spec.sample_rate, spec.max_seconds)
    if modality == "text" and spec.max_len < 3:
        raise ConfigError(f"{where}.max_len must be >= 3 (cls, a token, sep), got {spec.max_len}")
    return spec


def decode_images(
    paths: Sequence[str], spec: SideSpec, where: Sequence[str], skips: SkipLog
) -> list[torch.Tensor | None]:
    """Each image decoded (``size`` x ``size`` when set), or None (counted into ``skips``)."""
    out: list[torch.Tensor | None] = []
    for path, name in zip(paths, where, strict=True):
        try:
            with open(path, "rb") as f:
                out.append(decode_image(f.read(), spec.size, spec.max_pixels))
        except BadImage as bad:
            skips.add(name, f"image {bad.reason}")
            out.append(None)
        except OSError:
            skips.add(name, f"image {UNREADABLE}")
            out.append(None)
    return out


def decode_clips(
    paths: Sequence[str], spec: SideSpec, where: Sequence[str], skips: SkipLog
) -> list[np.ndarray | None]:
    """Each clip at ``sample_rate`` (int16 or float32 samples), or None (counted)."""
    assert spec.sample_rate is not None
    out: list[np.ndarray | None] = []
    for result, name in zip(decode_files(paths, spec.sample_rate), where, strict=True):
        if isinstance(result, BadAudio):
            skips.add(name, f"audio {result.reason}")
            out.append(None)
            continue
        skips.keep(CLIPPED, int(result.clipped))
        skips.keep(SILENT, int(result.silent))
        out.append(result.samples)
    return out


def audio_clips(clips: Sequence[np.ndarray], spec: SideSpec, crop: bool, seed: int) -> AudioClips:
    """``clips`` as one :class:`AudioClips` (cropped to ``max_seconds`` when ``crop``)."""
    assert spec.sample_rate is not None
    lengths = np.array([len(c) for c in clips], dtype=np.int64)
    offsets = torch.from_numpy(np.concatenate([[0], np.cumsum(lengths)]))
    if all(c.dtype == np.int16 for c in clips):
        flat = torch.from_numpy(np.concatenate(clips))
    else:
        unit = np.float32(1 / INT16_SCALE)
        parts = [c.astype(np.float32) * unit if c.dtype == np.int16 else c for c in clips]
        flat = torch.from_numpy(np.concatenate(parts).astype(np.float32))
    max_samples = None
    if crop and spec.max_seconds is not None:
        max_samples = max(1, round(spec.max_seconds * spec.sample_rate))
    labels = torch.full((len(clips),), -1, dtype=torch.int64)
    return AudioClips(flat, offsets, labels, [], spec.sample_rate, (), max_samples, seed)

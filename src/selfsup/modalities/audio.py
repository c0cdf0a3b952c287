"""Audio: float32 ``[T]`` mono waveforms at the encoder's ``sample_rate``; batches NaN-padded
at the end (:mod:`selfsup.nn.audio_padding`) with each clip's ``length``."""

from __future__ import annotations

from collections.abc import Callable, Sequence
from typing import Any

import torch
from torch.nn.utils.rnn import pad_sequence
from torch.utils.data import Dataset

from selfsup.backbones.base import Backbone
from selfsup.data.audio_items import AudioFileItems
from selfsup.data.collate import DROPPED, Batch, Item, batch_extras
from selfsup.data.eval_audio import audio_dataset_from_spec
from selfsup.data.item_sources import ItemSource
from selfsup.data.skips import SkipLog
from selfsup.modalities.base import Modality
from selfsup.modalities.registry import register_modality
from selfsup.nn.audio_padding import clip_lengths, pad_clips
from selfsup.registry import ConfigError

GAIN_DB = 6.0
"""Fine-tuning views scale each clip by a random gain within +-this many decibels."""
TINY_RATE = 8000


@register_modality("audio")
class AudioModality(Modality):
    """Whole (evaluation) or cropped (training) clips; views are made on the device."""

    item = "float32 [T]"
    unit = "s audio"  # throughput is seconds of audio per second, whatever the clip lengths
    shape_hint = "audio clips are padded, not stacked; collate them with the audio modality"

    def collate(self, items: Sequence[Item | None], skips: SkipLog | None = None) -> Batch:
        """``input`` float32 ``[B, T]`` NaN-padded to the longest clip, ``length`` int64
        ``[B]``, ``label`` int64 ``[B]``, and ``frame_labels`` int64 ``[B, F]`` padded with
        -1 when the items carry them; ``None`` items dropped (and counted)."""
        kept = [item for item in items if item is not None]
        if skips is not None:
            skips.add("", DROPPED, len(items) - len(kept))
        if not kept:
            empty = torch.empty(0, 0, dtype=torch.float32)
            none = torch.empty(0, dtype=torch.int64)
            return {"input": empty, "label": none, "length": none.clone()}
        clips = [item["input"] for item in kept]
        batch = {
            "input": pad_clips(clips),
            "length": torch.tensor([int(c.shape[0]) for c in clips], dtype=torch.int64),
            **batch_extras(kept),  # label, and the dataset index where items carry one
        }
        if all("frame_labels" in item for item in kept):
            frames = [item["frame_labels"] for item in kept]
            batch["frame_labels"] = pad_sequence(frames, batch_first=True, padding_value=-1)
        return batch

    def eval_dataset(
        self, spec: str, encoder: Backbone, size: int | None, val_fraction: float
    ) -> Dataset[Any]:
        """``PATH[@train|val|test]`` (class folders), ``PATH:digit|speaker[@train|test]``
        (FSDD-style names) or ``CARD.yaml[:LABEL][@SPLIT]``; whole clips at the encoder's
        ``sample_rate`` (``size`` is unused: evaluation never crops)."""
        return audio_dataset_from_spec(spec, _sample_rate(encoder), val_fraction)

    def item_source(
        self, spec: str, encoder: Backbone, size: int | None, val_fraction: float
    ) -> ItemSource:
        """The files of a spec as :meth:`eval_dataset` reads it, decoded file by file."""
        return AudioFileItems(spec, _sample_rate(encoder), val_fraction)

    def finetune_view(
        self, x: torch.Tensor, crop_scale_min: float, flip: bool, generator: torch.Generator
    ) -> torch.Tensor:
        """A random crop of at least ``crop_scale_min`` of each clip's real length, scaled by
        a random gain of +-:data:`GAIN_DB` dB; padding stays NaN (``flip`` is an image view)."""
        return random_gain(random_time_crop(x, crop_scale_min, generator), GAIN_DB, generator)

    def batch_amount(self, encoder: Backbone) -> Callable[[Batch], float] | None:
        """Seconds of audio in a batch: its clips' real samples over the encoder's rate."""
        rate = _sample_rate(encoder)

        def seconds(batch: Batch) -> float:
            lengths = batch.get("length")
            lengths = clip_lengths(batch["input"]) if lengths is None else lengths
            return float(lengths.sum()) / rate

        return seconds

    def same_width(self, a: torch.Tensor, b: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
        """Both sets NaN-padded to the wider one's width (padding never changes a clip)."""
        width = max(a.shape[-1], b.shape[-1])
        return pad_width(a, width), pad_width(b, width)

    def compact(self, x: torch.Tensor) -> torch.Tensor:
        """``x`` cut after its longest clip: a slice of a set padded to its longest clip
        computes no all-padding columns."""
        width = int(clip_lengths(x).max()) if x.shape[0] else 0
        return x[:, : max(width, 1)]

    def tiny_input(
        self, backbone: Backbone, batch: int, size: int, generator: torch.Generator
    ) -> torch.Tensor:
        """Noise clips of ``size`` samples down to half that, NaN-padded to ``[batch, size]``."""
        low = max(1, size // 2)
        lengths = torch.randint(low, size + 1, (batch,), generator=generator)
        lengths[0] = size  # one clip fills the batch, so its width is ``size``
        clips = [0.1 * torch.randn(int(n), generator=generator) for n in lengths]
        return pad_clips(clips, size)


def pad_width(x: torch.Tensor, width: int) -> torch.Tensor:
    """A padded batch ``[B, T]`` NaN-padded at the end to ``[B, width]`` (``width >= T``)."""
    extra = width - x.shape[-1]
    return torch.nn.functional.pad(x, (0, extra), value=float("nan")) if extra > 0 else x


def _sample_rate(encoder: Backbone) -> int:
    rate = getattr(encoder, "sample_rate", None)
    if not isinstance(rate, int) or rate <= 0:
        raise ConfigError(f"{type(encoder).__name__} has no sample_rate: not an audio encoder")
    return rate


def random_time_crop(x: torch.Tensor, scale_min: float, generator: torch.Generator) -> torch.Tensor:
    """Per clip, a random span of ``scale_min``..1 of its real length, moved to the start;
    ``[B, T']`` NaN-padded, ``T'`` the longest span."""
    if not 0.0 < scale_min <= 1.0:
        raise ValueError(f"crop scale must be in (0, 1], got {scale_min}")
    lengths = clip_lengths(x)
    u = torch.rand(2, x.shape[0], generator=generator, device=generator.device).to(x.device)
    spans = (lengths * (scale_min + (1 - scale_min) * u[0])).ceil().long().clamp(min=1)
    spans = torch.minimum(spans, lengths.clamp(min=1))
    starts = ((lengths - spans) * u[1]).floor().long()
    width = int(spans.max()) if x.shape[0] else 0
    pos = torch.arange(width, device=x.device)[None, :]
    idx = (starts[:, None] + pos).clamp(max=max(x.shape[1] - 1, 0))
    out = x.gather(1, idx)
    return torch.where(pos < spans[:, None], out, torch.full_like(out, float("nan")))


def random_gain(x: torch.Tensor, max_db: float, generator: torch.Generator) -> torch.Tensor:
    """Each clip times a gain drawn uniformly in +-``max_db`` decibels (NaN stays NaN)."""
    u = torch.rand(x.shape[0], generator=generator, device=generator.device).to(x.device)
    gain = 10 ** ((2 * u - 1) * max_db / 20)
    return x * gain[:, None].to(x.dtype)

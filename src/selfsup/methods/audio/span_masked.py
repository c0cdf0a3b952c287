"""Span masking over an audio encoder's frames, shared by wav2vec 2.0, HuBERT and data2vec."""

from __future__ import annotations

from typing import ClassVar

import torch

from selfsup.nn.span_masking import SpanMasking


class SpanMaskedFrames:
    """Mixin for a method that masks spans of frames: keys ``mask_start_prob`` (which a
    curriculum may move), ``mask_span`` and ``mask_min_spans``, checked when built."""

    schedulable: ClassVar[dict[str, tuple[float, float]]] = {"mask_start_prob": (0.0, 1.0)}
    mask_start_prob: float
    mask_span: int
    mask_min_spans: int

    def set_span_masking(self, start_prob: float, span: int, min_spans: int) -> None:
        """Keep the settings, raising now (not at step 1) when :class:`SpanMasking` refuses."""
        SpanMasking(start_prob, span, min_spans)
        self.mask_start_prob, self.mask_span, self.mask_min_spans = start_prob, span, min_spans

    def span_mask(
        self, valid: torch.Tensor, generator: torch.Generator | None = None
    ) -> torch.Tensor:
        """bool ``[B, N]`` span mask over the real frames ``valid`` (the current settings)."""
        spans = SpanMasking(self.mask_start_prob, self.mask_span, self.mask_min_spans)
        return spans(valid, generator)

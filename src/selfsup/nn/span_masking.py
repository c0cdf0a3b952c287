"""Span masking over audio frames (wav2vec 2.0, HuBERT, data2vec speech).

Each utterance of ``n`` real frames gets ``floor(start_prob * n + u)`` spans (``u ~ U[0, 1)``,
so the count is ``start_prob * n`` on average, and never below ``min_spans``); their starts are
distinct frames drawn uniformly among those where a whole span of ``span`` real frames fits.
Spans may overlap, so the masked fraction is about ``1 - (1 - start_prob) ** span``: 49% for
wav2vec 2.0's (0.065, 10), 57% for HuBERT's (0.08, 10).

Two parameterisations name the same masks. The papers quote the start probability (wav2vec
2.0: "p = 0.065"); fairseq's configs quote ``mask_prob = start_prob * span`` (0.65 for wav2vec
2.0 and 0.8 for HuBERT: the "0.8" HuBERT masks is that product, the fraction the spans would
cover without overlaps, not the fraction masked). :meth:`SpanMasking.from_mask_prob` takes the
latter and :meth:`SpanMasking.for_fraction` a target masked fraction.

Everything is batched: random numbers come from the given ``torch.Generator`` on its device
and the mask lands on the device of ``valid``.
"""

from __future__ import annotations

import dataclasses
import math

import torch


def _draw_device(generator: torch.Generator | None, fallback: torch.device) -> torch.device:
    return generator.device if generator is not None else fallback


def span_starts(
    valid: torch.Tensor,
    start_prob: float,
    span: int,
    min_spans: int = 2,
    generator: torch.Generator | None = None,
) -> torch.Tensor:
    """bool ``[B, N]``: True at the first frame of each span (see the module docstring).

    A start is a real frame whose next ``span`` frames are all real; a row with fewer than
    ``span`` real frames starts its spans anywhere in its real frames (they are cut short by
    :func:`spans_from_starts`).
    """
    if valid.dim() != 2 or valid.dtype != torch.bool:
        raise ValueError(
            f"valid must be a bool [B, N] mask, got {valid.dtype} {tuple(valid.shape)}"
        )
    if not 0.0 <= start_prob <= 1.0:
        raise ValueError(f"start_prob must be in [0, 1], got {start_prob}")
    if span < 1 or min_spans < 0:
        raise ValueError(f"span must be >= 1 and min_spans >= 0, got {span}, {min_spans}")
    batch, frames = valid.shape
    # fits[b, t]: frames t .. t + span - 1 are all real (a window sum over a cumulative sum).
    csum = torch.nn.functional.pad(valid.long().cumsum(1), (1, 0))  # [B, N + 1]
    end = (torch.arange(frames, device=valid.device) + span).clamp(max=frames)
    fits = (csum[:, end] - csum[:, :-1]) == span  # [B, N]
    short = ~fits.any(1, keepdim=True)  # rows shorter than one span
    candidates = torch.where(short, valid, fits)  # [B, N]
    device = _draw_device(generator, valid.device)
    u = torch.rand(batch, generator=generator, device=device).to(valid.device)
    keys = torch.rand(batch, frames, generator=generator, device=device).to(valid.device)
    real = valid.sum(1).float()  # float32: exact below 2**24 frames, and MPS has no float64
    count = torch.floor(start_prob * real + u).long().clamp(min=min_spans)
    count = torch.minimum(count, candidates.sum(1))  # [B]
    # The `count` candidates with the smallest random keys: distinct, uniformly chosen.
    keys = keys.masked_fill(~candidates, 2.0)
    rank = keys.argsort(1).argsort(1)  # [B, N]: each frame's place in its row's key order
    return (rank < count[:, None]) & candidates


def spans_from_starts(starts: torch.Tensor, span: int, valid: torch.Tensor) -> torch.Tensor:
    """bool ``[B, N]``: frames covered by a span of ``span`` frames from any start, real only."""
    hits = torch.nn.functional.pad(starts.long().cumsum(1), (span, 0))  # [B, N + span]
    covered = (hits[:, span:] - hits[:, :-span]) > 0  # a start in (t - span, t]
    return covered & valid


@dataclasses.dataclass(frozen=True)
class SpanMasking:
    """Span masks of ``span`` frames started with probability ``start_prob`` per real frame.

    Call it with the ``valid`` frames (bool ``[B, N]``, True = real) to get the bool ``[B, N]``
    mask (True = masked); padding is never masked.

    Args:
        start_prob: expected spans per real frame (wav2vec 2.0: 0.065, HuBERT: 0.08).
        span: frames per span (10 in both).
        min_spans: spans every utterance gets at least (fairseq: 2).
    """

    start_prob: float = 0.065
    span: int = 10
    min_spans: int = 2

    def __post_init__(self) -> None:
        if not 0.0 <= self.start_prob <= 1.0:
            raise ValueError(f"start_prob must be in [0, 1], got {self.start_prob}")
        if self.span < 1 or self.min_spans < 0:
            raise ValueError(f"span must be >= 1, min_spans >= 0: {self.span}, {self.min_spans}")

    @classmethod
    def from_mask_prob(cls, mask_prob: float, span: int = 10, min_spans: int = 2) -> SpanMasking:
        """From fairseq's ``mask_prob`` (= ``start_prob * span``: 0.65 wav2vec 2.0, 0.8 HuBERT)."""
        return cls(mask_prob / span, span, min_spans)

    @classmethod
    def for_fraction(cls, fraction: float, span: int = 10, min_spans: int = 2) -> SpanMasking:
        """The start probability that masks about ``fraction`` of a long utterance."""
        if not 0.0 <= fraction < 1.0:
            raise ValueError(f"masked fraction must be in [0, 1), got {fraction}")
        return cls(1.0 - (1.0 - fraction) ** (1.0 / span), span, min_spans)

    @property
    def expected_fraction(self) -> float:
        """Masked fraction of a long utterance: a frame escapes the ``span`` starts before it."""
        return 1.0 - math.pow(1.0 - self.start_prob, self.span)

    def __call__(
        self, valid: torch.Tensor, generator: torch.Generator | None = None
    ) -> torch.Tensor:
        starts = span_starts(valid, self.start_prob, self.span, self.min_spans, generator)
        return spans_from_starts(starts, self.span, valid)


WAV2VEC2_SPANS = SpanMasking(0.065, 10, 2)
"""wav2vec 2.0 (Baevski et al. 2020): p = 0.065, M = 10, about 49% of frames masked."""

HUBERT_SPANS = SpanMasking.from_mask_prob(0.8, 10, 2)
"""HuBERT (Hsu et al. 2021): fairseq mask_prob 0.8 over spans of 10, about 57% masked."""

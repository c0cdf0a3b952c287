"""Span masks over audio frames: masked fraction, span lengths, padding, counts, seeding."""

from __future__ import annotations

import pytest
import torch

from selfsup.nn.audio_padding import lengths_mask
from selfsup.nn.span_masking import (
    HUBERT_SPANS,
    WAV2VEC2_SPANS,
    SpanMasking,
    span_starts,
    spans_from_starts,
)


def runs(row: torch.Tensor) -> list[int]:
    """Lengths of the maximal runs of True in a 1-D bool tensor."""
    out, current = [], 0
    for v in row.tolist():
        if v:
            current += 1
        elif current:
            out.append(current)
            current = 0
    return [*out, current] if current else out


@pytest.mark.parametrize(("masking", "expected"), [(WAV2VEC2_SPANS, 0.49), (HUBERT_SPANS, 0.57)])
def test_masked_fraction_on_long_sequences(masking: SpanMasking, expected: float) -> None:
    valid = torch.ones(64, 2000, dtype=torch.bool)
    mask = masking(valid, torch.Generator().manual_seed(0))
    assert masking.expected_fraction == pytest.approx(expected, abs=0.005)
    assert mask.float().mean().item() == pytest.approx(expected, abs=0.01)


def test_start_count_follows_the_start_probability() -> None:
    lengths = torch.tensor([1000, 700, 300, 50])
    valid = lengths_mask(lengths, 1000)
    starts = span_starts(valid, 0.065, 10, 2, torch.Generator().manual_seed(1))
    counts = starts.sum(1)
    # floor(p * n + u): p * n rounded down or up, never anything else
    low = torch.floor(0.065 * lengths.double()).long()
    assert bool(((counts == low) | (counts == low + 1)).all()), counts


def test_spans_have_the_span_length_and_stay_inside_real_frames() -> None:
    lengths = torch.tensor([400, 123, 37, 10])
    valid = lengths_mask(lengths, 400)
    starts = span_starts(valid, 0.065, 10, 2, torch.Generator().manual_seed(2))
    mask = spans_from_starts(starts, 10, valid)
    for b, n in enumerate(lengths.tolist()):
        idx = starts[b].nonzero().squeeze(1)
        assert len(idx) >= min(2, n - 9)  # min_spans, capped by the starts that fit
        assert int(idx.max()) <= n - 10  # a whole span fits
        assert not bool(mask[b, n:].any())  # padding never masked
        row_runs = runs(mask[b])
        assert min(row_runs) >= 10  # overlapping spans merge, never shorten
        # every covered frame lies within 10 frames after a start
        for t in mask[b].nonzero().squeeze(1).tolist():
            assert bool(((t - idx >= 0) & (t - idx < 10)).any())


def test_merged_run_lengths_match_independent_starts() -> None:
    # With starts ~ Bernoulli(p), a run begins at a start with no start in the `span` frames
    # before it (rate p (1 - p)^span per frame) and the masked fraction is 1 - (1 - p)^span,
    # so runs average (1 - (1 - p)^span) / (p (1 - p)^span) frames: 14.7 at (0.065, 10).
    valid = torch.ones(200, 1000, dtype=torch.bool)
    mask = WAV2VEC2_SPANS(valid, torch.Generator().manual_seed(3))
    sampled = [r for row in mask for r in runs(row)[1:-1]]  # edge runs are cut short
    p, span = 0.065, 10
    expected = (1 - (1 - p) ** span) / (p * (1 - p) ** span)
    assert sum(sampled) / len(sampled) == pytest.approx(expected, rel=0.05)
    assert max(sampled) > 3 * span  # overlaps allowed: spans do merge


def test_short_rows_still_get_masked_and_empty_rows_do_not() -> None:
    valid = lengths_mask(torch.tensor([4, 0, 12]), 12)
    mask = WAV2VEC2_SPANS(valid, torch.Generator().manual_seed(5))
    assert bool(mask[0, :4].any()) and not bool(mask[0, 4:].any())
    assert not bool(mask[1].any())
    assert bool(mask[2].any())


def test_min_spans_applies_to_short_utterances() -> None:
    valid = lengths_mask(torch.tensor([40]), 40)  # 0.065 * 40 = 2.6 starts at most 3
    starts = span_starts(valid, 0.0, 10, 2, torch.Generator().manual_seed(0))
    assert int(starts.sum()) == 2


def test_masks_are_seeded_and_differ_per_row() -> None:
    valid = torch.ones(3, 300, dtype=torch.bool)
    a = WAV2VEC2_SPANS(valid, torch.Generator().manual_seed(7))
    b = WAV2VEC2_SPANS(valid, torch.Generator().manual_seed(7))
    assert torch.equal(a, b)
    assert not torch.equal(a[0], a[1])


def test_parameterisations_agree() -> None:
    assert SpanMasking.from_mask_prob(0.65, 10).start_prob == pytest.approx(0.065)
    target = SpanMasking.for_fraction(0.49, 10)
    assert target.expected_fraction == pytest.approx(0.49)
    assert target.start_prob == pytest.approx(0.065, abs=0.001)
    with pytest.raises(ValueError, match="start_prob"):
        SpanMasking(1.5)
    with pytest.raises(ValueError, match="bool"):
        span_starts(torch.ones(2, 5), 0.1, 2)

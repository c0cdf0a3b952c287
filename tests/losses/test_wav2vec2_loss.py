"""wav2vec 2.0's contrastive loss: distractor sampling, logits, terms, degenerate rows."""

from __future__ import annotations

import math

import pytest
import torch
import torch.nn.functional as F

from selfsup.losses.wav2vec2 import Wav2Vec2Loss, contrastive_logits, sample_distractors
from selfsup.nn.audio_padding import lengths_mask


def crafted_mask() -> tuple[torch.Tensor, torch.Tensor]:
    """Masked frames on real frames only; row 2 has one masked frame, row 3 none."""
    valid = lengths_mask(torch.tensor([12, 8, 10, 5]), 12)
    mask = torch.zeros(4, 12, dtype=torch.bool)
    mask[0, [1, 2, 3, 7, 8, 11]] = True
    mask[1, [0, 4, 5, 6]] = True
    mask[2, 6] = True
    return valid, mask


def test_distractors_are_other_masked_frames_of_the_same_utterance() -> None:
    valid, mask = crafted_mask()
    picks = sample_distractors(mask, 50, torch.Generator().manual_seed(0))
    assert torch.equal(picks.rows, mask.nonzero()[:, 0])
    assert torch.equal(picks.frames, mask.nonzero()[:, 1])
    assert picks.index.shape == (11, 50)
    for row, frame, idx, scored in zip(
        picks.rows.tolist(), picks.frames.tolist(), picks.index, picks.scored, strict=True
    ):
        assert bool(scored) == (row != 2)
        if not scored:
            continue
        assert frame not in idx.tolist()  # never the positive
        assert bool(mask[row, idx].all()) and bool(valid[row, idx].all())  # masked, not padding


def test_distractors_are_uniform_over_the_other_masked_frames() -> None:
    mask = torch.zeros(1, 30, dtype=torch.bool)
    mask[0, [2, 5, 9, 20, 29]] = True
    picks = sample_distractors(mask, 4000, torch.Generator().manual_seed(1))
    for frame, idx in zip(picks.frames.tolist(), picks.index, strict=True):
        counts = torch.bincount(idx, minlength=30)
        others = [f for f in (2, 5, 9, 20, 29) if f != frame]
        assert counts[others].sum() == 4000 and counts[frame] == 0
        assert counts[others].min() > 900 and counts[others].max() < 1100  # 1000 each


def test_loss_equals_a_per_row_reference() -> None:
    valid, mask = crafted_mask()
    context, targets = torch.randn(4, 12, 6), torch.randn(4, 12, 6)
    loss_fn = Wav2Vec2Loss(num_distractors=5, temperature=0.1)
    terms = loss_fn(context, targets, mask, valid=valid, generator=torch.Generator().manual_seed(3))
    picks = sample_distractors(mask, 5, torch.Generator().manual_seed(3))  # the same draw
    losses, hits = [], []
    for row, frame, idx, scored in zip(
        picks.rows.tolist(), picks.frames.tolist(), picks.index.tolist(), picks.scored, strict=True
    ):
        if not scored:
            continue
        c = context[row, frame]
        sims = [F.cosine_similarity(c, targets[row, f], dim=0) / 0.1 for f in [frame, *idx]]
        logits = torch.stack(sims)
        losses.append(torch.logsumexp(logits, 0) - logits[0])
        hits.append(float(logits.argmax() == 0))
    assert terms.scored == 10  # row 2's single masked frame has no distractors
    torch.testing.assert_close(terms.contrastive, torch.stack(losses).mean())
    assert terms.accuracy.item() == pytest.approx(sum(hits) / len(hits))


def test_distractors_identical_to_the_positive_get_minus_infinity() -> None:
    positive = torch.randn(3, 4)
    negatives = torch.randn(3, 5, 4)
    negatives[0, 2] = positive[0]
    negatives[2, :] = positive[2]
    logits = contrastive_logits(torch.randn(3, 4), positive, negatives, 0.1)
    assert logits.shape == (3, 6)
    assert logits[0, 3] == -math.inf and torch.isfinite(logits[0, [0, 1, 2, 4, 5]]).all()
    assert torch.isfinite(logits[1]).all()
    assert torch.isinf(logits[2, 1:]).all() and torch.isfinite(logits[2, 0])


def test_an_utterance_of_one_repeated_target_costs_nothing() -> None:
    mask = torch.ones(1, 6, dtype=torch.bool)
    targets = torch.randn(1, 1, 4).expand(1, 6, 4).clone()  # every frame the same code
    terms = Wav2Vec2Loss(10)(torch.randn(1, 6, 4), targets, mask)
    assert terms.contrastive.item() == 0.0 and terms.accuracy.item() == 1.0


def test_no_masked_frame_gives_a_zero_loss_with_a_graph() -> None:
    context = torch.randn(2, 5, 4, requires_grad=True)
    terms = Wav2Vec2Loss()(context, torch.randn(2, 5, 4), torch.zeros(2, 5, dtype=torch.bool))
    assert terms.scored == 0 and terms.total.item() == 0.0
    terms.total.backward()  # no error: the zero is connected to the inputs
    assert context.grad is not None


def test_weighted_terms_and_gradients_to_the_targets() -> None:
    valid, mask = crafted_mask()
    context = torch.randn(4, 12, 6, requires_grad=True)
    targets = torch.randn(4, 12, 6, requires_grad=True)
    features = torch.randn(4, 12, 9)
    features[~valid] = 1e3  # padding: must not enter the penalty
    diversity = torch.tensor(0.3)
    terms = Wav2Vec2Loss()(context, targets, mask, diversity, features, valid)
    assert terms.diversity.item() == pytest.approx(0.03)
    assert terms.feature_penalty.item() == pytest.approx(10 * features[valid].pow(2).mean().item())
    torch.testing.assert_close(
        terms.total, terms.contrastive + terms.diversity + 10 * features[valid].pow(2).mean()
    )
    terms.total.backward()
    assert targets.grad is not None and targets.grad.abs().sum() > 0  # the quantizer learns
    assert context.grad is not None and context.grad[~mask].abs().sum() == 0  # masked frames only


def test_bad_inputs_are_one_clear_line() -> None:
    valid, mask = crafted_mask()
    with pytest.raises(ValueError, match="padding"):
        Wav2Vec2Loss()(torch.randn(4, 12, 3), torch.randn(4, 12, 3), ~valid, valid=valid)
    with pytest.raises(ValueError, match="shape"):
        Wav2Vec2Loss()(torch.randn(4, 12, 3), torch.randn(4, 12, 2), mask)
    with pytest.raises(ValueError, match="distractors"):
        sample_distractors(mask, 0)

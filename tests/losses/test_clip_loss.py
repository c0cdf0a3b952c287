"""CLIP's symmetric loss against a per-row reference; the logit scale is clamped at 100."""

from __future__ import annotations

import math

import pytest
import torch

from selfsup.losses.clip import MAX_LOGIT_SCALE, ClipLoss
from selfsup.methods.crossmodal.clip import CLIP
from tiny_methods import build_tiny


def reference_rows(a: torch.Tensor, b: torch.Tensor, scale: float) -> torch.Tensor:
    """Row i: the mean of -log softmax_j(s * cos(a_i, b_j))[i] and the same for b_i vs a."""
    out = []
    for i in range(len(a)):
        cos_ab = torch.stack([torch.cosine_similarity(a[i], b[j], dim=0) for j in range(len(b))])
        cos_ba = torch.stack([torch.cosine_similarity(b[i], a[j], dim=0) for j in range(len(a))])
        l_ab = -(scale * cos_ab[i] - torch.logsumexp(scale * cos_ab, dim=0))
        l_ba = -(scale * cos_ba[i] - torch.logsumexp(scale * cos_ba, dim=0))
        out.append((l_ab + l_ba) / 2)
    return torch.stack(out)


def test_symmetric_loss_equals_a_per_row_reference() -> None:
    gen = torch.Generator().manual_seed(0)
    a, b = torch.randn(6, 5, generator=gen), torch.randn(6, 5, generator=gen)
    terms = ClipLoss(gather=False)(a, b, torch.tensor(7.0))
    want = reference_rows(a, b, 7.0)
    torch.testing.assert_close(terms.sample_loss, want, atol=1e-5, rtol=0)
    torch.testing.assert_close(terms.loss, want.mean(), atol=1e-5, rtol=0)
    # Not symmetric by accident of the data: swapping sides changes neither value.
    swapped = ClipLoss(gather=False)(b, a, torch.tensor(7.0))
    torch.testing.assert_close(swapped.sample_loss, terms.sample_loss, atol=1e-6, rtol=0)


def test_matching_pairs_give_a_low_loss_and_full_accuracy() -> None:
    a = torch.eye(4)
    terms = ClipLoss(gather=False)(a, a.clone(), torch.tensor(50.0))
    assert terms.loss < 1e-6 and terms.accuracy == 1.0
    shuffled = ClipLoss(gather=False)(a, a.roll(1, dims=0), torch.tensor(50.0))
    assert shuffled.loss > 10 and shuffled.accuracy == 0.0


def test_bad_shapes_are_one_line() -> None:
    with pytest.raises(ValueError, match="two non-empty"):
        ClipLoss()(torch.randn(3, 4), torch.randn(2, 4), torch.tensor(1.0))


def test_logit_scale_is_clamped_at_100_in_forward_and_after_a_step() -> None:
    method, _ = build_tiny("clip")
    assert isinstance(method, CLIP)
    assert method.scale().item() == pytest.approx(1 / 0.07, rel=1e-5)
    with torch.no_grad():
        method.logit_scale.fill_(math.log(1000.0))
    assert method.scale().item() == pytest.approx(MAX_LOGIT_SCALE)  # used value capped
    method.on_step_end(1, 10)
    assert method.logit_scale.item() == pytest.approx(math.log(MAX_LOGIT_SCALE))
    with torch.no_grad():
        method.logit_scale.fill_(math.log(20.0))
    method.on_step_end(2, 10)  # below the cap: left alone
    assert method.logit_scale.exp().item() == pytest.approx(20.0, rel=1e-5)


def test_logit_scale_learns_unless_fixed() -> None:
    method, batch = build_tiny("clip")
    method.training_step(batch)["loss"].backward()
    assert method.logit_scale.grad is not None and method.logit_scale.grad != 0
    fixed = CLIP(method.backbone, tower_b=method.tower_b, learn_temperature=False)
    assert not fixed.logit_scale.requires_grad

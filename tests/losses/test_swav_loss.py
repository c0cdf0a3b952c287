"""SwAV swapped prediction against an explicit per-sample loop."""

from __future__ import annotations

import math

import pytest
import torch

from selfsup.losses.swav import SwAVLoss


def loop_reference(scores: list[torch.Tensor], codes: list[torch.Tensor], t: float) -> float:
    total, pairs = 0.0, 0
    for i, q in enumerate(codes):
        for j, s in enumerate(scores):
            if j == i:
                continue
            per_sample = 0.0
            for b in range(s.shape[0]):
                row = [float(v) / t for v in s[b]]
                log_z = math.log(sum(math.exp(v) for v in row))
                per_sample -= sum(float(q[b, k]) * (row[k] - log_z) for k in range(len(row)))
            total += per_sample / s.shape[0]
            pairs += 1
    return total / pairs


def test_matches_loop_with_local_views() -> None:
    gen = torch.Generator().manual_seed(0)
    scores = [torch.randn(5, 4, generator=gen) for _ in range(4)]  # 2 global + 2 local
    codes = [torch.softmax(torch.randn(5, 4, generator=gen), dim=1) for _ in range(2)]
    loss = SwAVLoss(temperature=0.1)(scores, codes)
    assert loss.item() == pytest.approx(loop_reference(scores, codes, 0.1), rel=1e-5)


def test_gradient_reaches_scores_but_not_codes() -> None:
    gen = torch.Generator().manual_seed(1)
    scores = [torch.randn(3, 6, generator=gen, requires_grad=True) for _ in range(2)]
    codes = [
        torch.softmax(torch.randn(3, 6, generator=gen), dim=1).requires_grad_() for _ in range(2)
    ]
    SwAVLoss(0.5)(scores, codes).backward()
    assert all(s.grad is not None and s.grad.abs().sum() > 0 for s in scores)
    assert all(q.grad is None for q in codes)


def test_bad_inputs() -> None:
    s = [torch.zeros(2, 3)] * 2
    with pytest.raises(ValueError, match="temperature"):
        SwAVLoss(0.0)
    with pytest.raises(ValueError, match="codes"):
        SwAVLoss()(s, [])
    with pytest.raises(ValueError, match="shape"):
        SwAVLoss()(s, [torch.zeros(2, 4)])

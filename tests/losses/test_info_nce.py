"""InfoNCE against explicit per-row loops, with queue negatives and with in-batch negatives."""

from __future__ import annotations

import math

import pytest
import torch

from selfsup.losses.info_nce import InfoNCELoss


def _unit(v: list[float]) -> list[float]:
    n = math.sqrt(sum(x * x for x in v))
    return [x / n for x in v]


def _dot(a: list[float], b: list[float]) -> float:
    return sum(x * y for x, y in zip(a, b, strict=True))


def _loop_loss(q: torch.Tensor, k: torch.Tensor, negatives: torch.Tensor | None, t: float) -> float:
    qs, ks = [_unit(r) for r in q.tolist()], [_unit(r) for r in k.tolist()]
    total = 0.0
    for i, qi in enumerate(qs):
        if negatives is not None:
            others = [_unit(r) for r in negatives.tolist()]
        else:
            others = [kj for j, kj in enumerate(ks) if j != i]
        pos = math.exp(_dot(qi, ks[i]) / t)
        denom = pos + sum(math.exp(_dot(qi, o) / t) for o in others)
        total += -math.log(pos / denom)
    return total / len(qs)


@pytest.mark.parametrize("temperature", [0.07, 0.2, 1.0])
def test_queue_negatives_match_loop(temperature: float) -> None:
    torch.manual_seed(0)
    q, k, neg = torch.randn(5, 4), torch.randn(5, 4), 3 * torch.randn(9, 4)
    loss = InfoNCELoss(temperature)(q, k, neg)
    assert loss.item() == pytest.approx(_loop_loss(q, k, neg, temperature), rel=1e-5)


def test_in_batch_negatives_match_loop() -> None:
    torch.manual_seed(1)
    q, k = torch.randn(6, 3), torch.randn(6, 3)
    loss = InfoNCELoss(0.5)(q, k)
    assert loss.item() == pytest.approx(_loop_loss(q, k, None, 0.5), rel=1e-5)


def test_gradient_reaches_query_and_matching_key_lowers_loss() -> None:
    torch.manual_seed(2)
    q = torch.randn(4, 8, requires_grad=True)
    neg = torch.randn(16, 8)
    far = InfoNCELoss(0.2)(q, torch.randn(4, 8), neg)
    near = InfoNCELoss(0.2)(q, q.detach() * 2, neg)
    assert near.item() < far.item()
    near.backward()
    assert q.grad is not None and q.grad.abs().sum() > 0


def test_bad_inputs_raise() -> None:
    loss = InfoNCELoss()
    with pytest.raises(ValueError, match="temperature"):
        InfoNCELoss(0.0)
    with pytest.raises(ValueError, match="one shape"):
        loss(torch.randn(4, 3), torch.randn(3, 3))
    with pytest.raises(ValueError, match=r"negatives of shape \[K, 3\]"):
        loss(torch.randn(4, 3), torch.randn(4, 3), torch.randn(5, 2))

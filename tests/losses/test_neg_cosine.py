"""Negative cosine similarity against a per-row loop, BYOL's 2 - 2cos identity, and the
stop-gradient convention (the loss itself detaches nothing)."""

from __future__ import annotations

import math

import pytest
import torch

from selfsup.losses.neg_cosine import NegativeCosineSimilarity


def _loop(p: torch.Tensor, z: torch.Tensor) -> float:
    total = 0.0
    for a, b in zip(p.tolist(), z.tolist(), strict=True):
        dot = sum(x * y for x, y in zip(a, b, strict=True))
        total += dot / (math.sqrt(sum(x * x for x in a)) * math.sqrt(sum(y * y for y in b)))
    return -total / len(p.tolist())


def test_matches_per_row_loop_and_normalised_mse() -> None:
    torch.manual_seed(0)
    p, z = torch.randn(6, 5), torch.randn(6, 5)
    loss = NegativeCosineSimilarity()(p, z)
    assert loss.item() == pytest.approx(_loop(p, z), abs=1e-6)
    # BYOL: mean ||p/|p| - z/|z|||^2 == 2 - 2 cos == 2 + 2 * loss
    mse = (p / p.norm(dim=1, keepdim=True) - z / z.norm(dim=1, keepdim=True)).pow(2).sum(1)
    assert (2 + 2 * loss).item() == pytest.approx(mse.mean().item(), abs=1e-6)
    assert NegativeCosineSimilarity()(p, 3 * p).item() == pytest.approx(-1.0, abs=1e-6)


def test_gradient_flows_only_where_the_caller_allows() -> None:
    p = torch.randn(4, 3, requires_grad=True)
    z = torch.randn(4, 3, requires_grad=True)
    NegativeCosineSimilarity()(p, z.detach()).backward()
    assert p.grad is not None and p.grad.abs().sum() > 0
    assert z.grad is None
    z2 = torch.randn(4, 3, requires_grad=True)
    NegativeCosineSimilarity()(p, z2).backward()
    assert z2.grad is not None and z2.grad.abs().sum() > 0  # no hidden detach


def test_bad_inputs_raise() -> None:
    loss = NegativeCosineSimilarity()
    with pytest.raises(ValueError, match="one shape"):
        loss(torch.randn(4, 3), torch.randn(4, 2))
    with pytest.raises(ValueError, match="empty"):
        loss(torch.randn(0, 3), torch.randn(0, 3))
    assert torch.isfinite(loss(torch.zeros(2, 3), torch.randn(2, 3)))

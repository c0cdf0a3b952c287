"""KoLeo equals a per-row nearest-neighbour loop."""

from __future__ import annotations

import pytest
import torch

from selfsup.losses.koleo import KoLeoLoss


def test_koleo_matches_per_row_loop() -> None:
    torch.manual_seed(0)
    x = torch.randn(7, 5)
    z = x / x.norm(dim=1, keepdim=True)
    terms = []
    for i in range(7):
        dists = [float((z[i] - z[j]).norm()) for j in range(7) if j != i]
        terms.append(-torch.log(torch.tensor(min(dists)) + 1e-8))
    torch.testing.assert_close(KoLeoLoss()(x), torch.stack(terms).mean())


def test_koleo_gradient_spreads_close_points() -> None:
    x = torch.tensor([[1.0, 0.0], [1.0, 0.05], [-1.0, 0.0]], requires_grad=True)
    KoLeoLoss()(x).backward()
    assert x.grad is not None and x.grad[1, 1] < 0  # descent moves point 1 away from point 0


def test_koleo_needs_two_rows() -> None:
    with pytest.raises(ValueError, match="B >= 2"):
        KoLeoLoss()(torch.randn(1, 4))

"""Sinkhorn-Knopp codes: rows sum to 1, prototypes equally used, equal to a numpy reference."""

from __future__ import annotations

import numpy as np
import pytest
import torch

from selfsup.nn.sinkhorn import sinkhorn


def numpy_sinkhorn(scores: np.ndarray, epsilon: float, iterations: int) -> np.ndarray:
    """Textbook Sinkhorn-Knopp in float64: alternate prototype / sample rescaling."""
    b, k = scores.shape
    p = np.exp(scores / epsilon)  # [B, K]
    p /= p.sum()
    for _ in range(iterations):
        p /= p.sum(axis=0, keepdims=True) * k
        p /= p.sum(axis=1, keepdims=True) * b
    return p * b


def random_scores(b: int, k: int, seed: int = 0) -> torch.Tensor:
    gen = torch.Generator().manual_seed(seed)
    z = torch.nn.functional.normalize(torch.randn(b, 8, generator=gen), dim=1)
    c = torch.nn.functional.normalize(torch.randn(k, 8, generator=gen), dim=1)
    return z @ c.T  # cosine scores in [-1, 1], as SwAV's


def test_rows_sum_to_one_and_matches_numpy() -> None:
    scores = random_scores(32, 10)
    q = sinkhorn(scores, epsilon=0.05, iterations=3)
    assert q.shape == (32, 10) and not q.requires_grad
    torch.testing.assert_close(q.sum(dim=1), torch.ones(32))
    ref = numpy_sinkhorn(scores.double().numpy(), 0.05, 3)
    np.testing.assert_allclose(q.numpy(), ref, rtol=1e-4, atol=1e-6)


def test_prototype_usage_becomes_equal() -> None:
    scores = random_scores(40, 8, seed=1)
    few = sinkhorn(scores, epsilon=0.05, iterations=3).sum(dim=0)
    many = sinkhorn(scores, epsilon=0.05, iterations=500).sum(dim=0)
    torch.testing.assert_close(many, torch.full((8,), 40 / 8), rtol=1e-3, atol=1e-3)
    # Three rounds already move usage most of the way from the raw softmax towards B/K.
    raw = torch.softmax(scores / 0.05, dim=1).sum(dim=0)
    assert float((few - 5).abs().max()) < 0.5 * float((raw - 5).abs().max())


def test_shared_rows_join_the_equipartition() -> None:
    scores = random_scores(24, 6, seed=2)
    q = sinkhorn(scores[:8], iterations=3, shared=scores[8:])
    torch.testing.assert_close(q, sinkhorn(scores, iterations=3)[:8])


def test_bad_inputs() -> None:
    with pytest.raises(ValueError, match="shape"):
        sinkhorn(torch.zeros(4))
    with pytest.raises(ValueError, match="epsilon"):
        sinkhorn(torch.zeros(4, 3), epsilon=0.0)
    with pytest.raises(ValueError, match="shared"):
        sinkhorn(torch.zeros(4, 3), shared=torch.zeros(2, 5))

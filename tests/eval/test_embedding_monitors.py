"""embedding_std: 0 for collapse, about 1/sqrt(D) for isotropic embeddings."""

from __future__ import annotations

import math

import pytest
import torch

from selfsup.eval.monitors import embedding_std


def test_identical_rows_give_zero():
    z = torch.randn(1, 64).expand(32, 64) * torch.linspace(0.5, 3.0, 32)[:, None]  # only scale
    assert embedding_std(z) == pytest.approx(0.0, abs=1e-6)


@pytest.mark.parametrize("dim", [16, 128, 512])
def test_isotropic_gaussian_gives_inverse_sqrt_dim(dim):
    z = torch.randn(4096, dim, generator=torch.Generator().manual_seed(dim))
    assert embedding_std(z) == pytest.approx(1 / math.sqrt(dim), rel=0.05)


def test_matches_numpy_definition():
    z = torch.randn(50, 7, generator=torch.Generator().manual_seed(1)).double().numpy()
    unit = z / ((z**2).sum(axis=1, keepdims=True) ** 0.5)
    expected = unit.std(axis=0, ddof=1).mean()
    assert embedding_std(torch.from_numpy(z).requires_grad_()) == pytest.approx(expected, rel=1e-5)


def test_rejects_single_row_or_wrong_rank():
    with pytest.raises(ValueError, match="B >= 2"):
        embedding_std(torch.randn(1, 8))
    with pytest.raises(ValueError, match="B >= 2"):
        embedding_std(torch.randn(8))

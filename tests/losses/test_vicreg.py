"""VICRegLoss terms against numpy formulas, collapsed embeddings, and bad input."""

from __future__ import annotations

import math

import numpy as np
import pytest
import torch

from selfsup.losses.vicreg import VICRegLoss


def reference_terms(z_a: torch.Tensor, z_b: torch.Tensor, eps: float) -> dict[str, float]:
    """The paper's three terms from numpy: MSE, hinge on unbiased std, off-diagonal cov² / D."""
    a, b = z_a.double().numpy(), z_b.double().numpy()
    d = a.shape[1]

    def hinge(x: np.ndarray) -> float:
        return float(np.mean(np.maximum(0.0, 1.0 - np.sqrt(x.var(axis=0, ddof=1) + eps))))

    def cov_penalty(x: np.ndarray) -> float:
        cov = np.cov(x, rowvar=False)  # unbiased
        return float((np.sum(cov**2) - np.sum(np.diag(cov) ** 2)) / d)

    return {
        "invariance": float(np.mean((a - b) ** 2)),
        "variance": (hinge(a) + hinge(b)) / 2,
        "covariance": cov_penalty(a) + cov_penalty(b),
    }


def random_pair(n: int = 9, d: int = 6, seed: int = 0) -> tuple[torch.Tensor, torch.Tensor]:
    gen = torch.Generator().manual_seed(seed)
    # Mixed scales so some dimensions sit below the std hinge (std < 1) and some above.
    scale = torch.tensor([0.1, 0.5, 0.9, 1.5, 2.0, 3.0])[:d]
    z_a = torch.randn(n, d, generator=gen) * scale
    return z_a, z_a + 0.3 * torch.randn(n, d, generator=gen)


def test_terms_match_numpy_formulas() -> None:
    z_a, z_b = random_pair()
    terms = VICRegLoss(gather=False).terms(z_a, z_b)
    expected = reference_terms(z_a, z_b, eps=1e-4)
    assert expected["variance"] > 0 and expected["covariance"] > 0  # every term is exercised
    for name, value in expected.items():
        assert terms[name].item() == pytest.approx(value, rel=1e-5), name


def test_loss_is_the_weighted_sum_of_the_terms() -> None:
    z_a, z_b = random_pair(seed=1)
    expected = reference_terms(z_a, z_b, eps=1e-3)
    loss = VICRegLoss(sim_weight=2.0, var_weight=3.0, cov_weight=0.5, eps=1e-3, gather=False)
    value = 2.0 * expected["invariance"] + 3.0 * expected["variance"] + 0.5 * expected["covariance"]
    assert loss(z_a, z_b).item() == pytest.approx(value, rel=1e-5)


def test_paper_default_weights() -> None:
    loss = VICRegLoss()
    assert (loss.sim_weight, loss.var_weight, loss.cov_weight, loss.eps) == (25, 25, 1, 1e-4)


def test_collapsed_embeddings_cost_var_weight_per_view_average() -> None:
    # All rows equal: std 0 in every dimension, so the hinge is 1 - sqrt(eps) ≈ 1 per dimension;
    # averaged over dimensions and the two views the variance term is ≈ 1, i.e. the loss is
    # ≈ var_weight · 1. Invariance and covariance are exactly 0.
    row = torch.randn(1, 6)
    z = row.expand(8, 6).clone()
    loss_fn = VICRegLoss(gather=False)
    terms = loss_fn.terms(z, z)
    assert terms["invariance"].item() == 0.0
    assert terms["covariance"].item() == 0.0
    assert terms["variance"].item() == pytest.approx(1 - math.sqrt(1e-4), rel=1e-6)
    assert loss_fn(z, z).item() == pytest.approx(25 * (1 - math.sqrt(1e-4)), rel=1e-6)
    assert VICRegLoss(eps=1e-12, gather=False)(z, z).item() == pytest.approx(25.0, rel=1e-5)


@pytest.mark.parametrize(
    ("z_a", "z_b", "message"),
    [
        (torch.randn(4, 3), torch.randn(5, 3), "same shape"),
        (torch.randn(4, 3, 1), torch.randn(4, 3, 1), "2-D"),
        (torch.randn(1, 3), torch.randn(1, 3), "at least 2 samples"),
    ],
)
def test_bad_inputs_raise_one_line_errors(
    z_a: torch.Tensor, z_b: torch.Tensor, message: str
) -> None:
    with pytest.raises(ValueError, match=message):
        VICRegLoss()(z_a, z_b)


def test_negative_weight_and_zero_eps_are_rejected() -> None:
    with pytest.raises(ValueError, match="var_weight"):
        VICRegLoss(var_weight=-1.0)
    with pytest.raises(ValueError, match="eps"):
        VICRegLoss(eps=0.0)

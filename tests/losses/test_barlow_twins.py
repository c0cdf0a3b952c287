"""BarlowTwinsLoss against per-element loops, on decorrelated inputs, and on bad input."""

from __future__ import annotations

import math

import pytest
import torch

from selfsup.losses.barlow_twins import BarlowTwinsLoss
from selfsup.losses.decorrelation import off_diagonal

EPS = 1e-5


def manual_cross_correlation(z_a: torch.Tensor, z_b: torch.Tensor) -> list[list[float]]:
    """C_ij one element at a time from Python floats: standardise columns, average products."""
    a, b = z_a.tolist(), z_b.tolist()
    n, d = len(a), len(a[0])

    def standardised(rows: list[list[float]], j: int) -> list[float]:
        col = [row[j] for row in rows]
        mean = sum(col) / n
        var = sum((x - mean) ** 2 for x in col) / n  # biased, as BatchNorm
        return [(x - mean) / math.sqrt(var + EPS) for x in col]

    cols_a = [standardised(a, j) for j in range(d)]
    cols_b = [standardised(b, j) for j in range(d)]
    return [
        [sum(x * y for x, y in zip(cols_a[i], cols_b[j], strict=True)) / n for j in range(d)]
        for i in range(d)
    ]


def random_pair(n: int = 7, d: int = 5, seed: int = 0) -> tuple[torch.Tensor, torch.Tensor]:
    gen = torch.Generator().manual_seed(seed)
    z_a = torch.randn(n, d, generator=gen, dtype=torch.float64) * 3 + 1
    return z_a, z_a + torch.randn(n, d, generator=gen, dtype=torch.float64)


def test_cross_correlation_matches_per_element_computation() -> None:
    z_a, z_b = random_pair()
    c = BarlowTwinsLoss(gather=False).cross_correlation(z_a, z_b)
    expected = torch.tensor(manual_cross_correlation(z_a, z_b), dtype=torch.float64)
    assert c.shape == (5, 5) and c.dtype == torch.float64  # float64 input is kept as is
    torch.testing.assert_close(c, expected, atol=1e-10, rtol=0)
    # float32 input gives the same matrix to float32 precision.
    c32 = BarlowTwinsLoss(gather=False).cross_correlation(z_a.float(), z_b.float())
    torch.testing.assert_close(c32.double(), expected, atol=1e-5, rtol=0)


@pytest.mark.parametrize("lam", [5e-3, 0.3])
def test_loss_matches_explicit_loops(lam: float) -> None:
    z_a, z_b = random_pair(seed=1)
    c = manual_cross_correlation(z_a, z_b)
    d = len(c)
    expected = sum((1 - c[i][i]) ** 2 for i in range(d)) + lam * sum(
        c[i][j] ** 2 for i in range(d) for j in range(d) if i != j
    )
    loss = BarlowTwinsLoss(lambda_offdiag=lam, gather=False)(z_a.float(), z_b.float())
    assert loss.item() == pytest.approx(expected, rel=1e-4)


def test_identical_decorrelated_views_give_zero_loss() -> None:
    # Columns 1..4 of an 8x8 Hadamard matrix: zero mean, unit variance, mutually orthogonal.
    h2 = torch.tensor([[1.0, 1.0], [1.0, -1.0]])
    hadamard = torch.kron(torch.kron(h2, h2), h2)
    z = hadamard[:, 1:5] * torch.tensor([2.0, 0.5, 3.0, 1.0]) + 7  # scale/shift are removed
    loss_fn = BarlowTwinsLoss(lambda_offdiag=1.0, gather=False)
    torch.testing.assert_close(loss_fn.cross_correlation(z, z), torch.eye(4), atol=1e-4, rtol=0)
    assert loss_fn(z, z).item() < 1e-8
    # The same loss on unrelated views is far from zero, so the check above can fail.
    other = torch.randn(8, 4, generator=torch.Generator().manual_seed(0))
    assert loss_fn(z, other).item() > 0.5


def test_off_diagonal_keeps_every_other_entry_in_order() -> None:
    m = torch.arange(16.0).view(4, 4)
    expected = [m[i, j].item() for i in range(4) for j in range(4) if i != j]
    assert off_diagonal(m).tolist() == expected


@pytest.mark.parametrize(
    ("z_a", "z_b", "message"),
    [
        (torch.randn(4, 3), torch.randn(4, 2), "same shape"),
        (torch.randn(4), torch.randn(4), "2-D"),
        (torch.randn(1, 3), torch.randn(1, 3), "at least 2 samples"),
        (torch.ones(4, 3, dtype=torch.long), torch.ones(4, 3, dtype=torch.long), "floating"),
    ],
)
def test_bad_inputs_raise_one_line_errors(
    z_a: torch.Tensor, z_b: torch.Tensor, message: str
) -> None:
    with pytest.raises(ValueError, match=message):
        BarlowTwinsLoss()(z_a, z_b)


def test_negative_lambda_and_zero_eps_are_rejected() -> None:
    with pytest.raises(ValueError, match="lambda_offdiag"):
        BarlowTwinsLoss(lambda_offdiag=-1.0)
    with pytest.raises(ValueError, match="eps"):
        BarlowTwinsLoss(eps=0.0)

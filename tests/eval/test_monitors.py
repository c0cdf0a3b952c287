"""Label-free monitors against closed forms and independent numpy computations."""

from __future__ import annotations

import math

import numpy as np
import pytest
import torch

from selfsup.eval.monitors import (
    alignment,
    batch_monitors,
    effective_rank,
    teacher_entropy,
    uniformity,
)


def orthonormal(n: int, r: int, seed: int) -> torch.Tensor:
    q, _ = torch.linalg.qr(torch.randn(n, r, generator=torch.Generator().manual_seed(seed)))
    return q


@pytest.mark.parametrize("r", [1, 5, 20])
def test_rank_r_with_equal_singular_values_gives_r(r: int) -> None:
    z = orthonormal(200, r, 0) @ orthonormal(64, r, 1).T * 3.0  # [200, 64], r equal sing. values
    assert effective_rank(z) == pytest.approx(r, rel=1e-3)


@pytest.mark.parametrize("r", [4, 16])
def test_random_rank_r_gaussian_matrix_is_about_r(r: int) -> None:
    gen = torch.Generator().manual_seed(r)
    z = torch.randn(1000, r, generator=gen) @ torch.randn(r, 128, generator=gen)
    assert 0.85 * r < effective_rank(z) <= r + 1e-3


def test_effective_rank_matches_numpy_formula() -> None:
    z = torch.randn(30, 12, generator=torch.Generator().manual_seed(3)) * torch.arange(1, 13)
    s = np.linalg.svd(z.double().numpy(), compute_uv=False)
    p = s / s.sum() + 1e-7
    assert effective_rank(z) == pytest.approx(math.exp(-(p * np.log(p)).sum()), rel=1e-9)


def test_alignment_of_views_rotated_by_a_fixed_angle() -> None:
    angle = 0.7  # every positive pair is `angle` apart: ||x - y||^2 = 2 - 2 cos(angle)
    phi = torch.rand(50, generator=torch.Generator().manual_seed(0)) * 6.28
    z1 = torch.stack([phi.cos(), phi.sin()], dim=1) * 5  # norms are removed
    z2 = torch.stack([(phi + angle).cos(), (phi + angle).sin()], dim=1)
    assert alignment(z1, z2) == pytest.approx(2 - 2 * math.cos(angle), rel=1e-5)
    expected = (2 - 2 * math.cos(angle)) ** 0.5
    assert alignment(z1, z2, alpha=1.0) == pytest.approx(expected, rel=1e-5)


def test_uniformity_of_two_antipodal_clusters() -> None:
    m = 6  # m items at +e1 and m at -e1: same-side pairs have distance 0, others 2
    z = torch.zeros(2 * m, 3)
    z[:m, 0], z[m:, 0] = 1.0, -1.0
    same, cross = 2 * m * (m - 1) / 2, m * m
    expected = math.log((same * 1.0 + cross * math.exp(-2 * 4)) / (same + cross))
    assert uniformity(z) == pytest.approx(expected, rel=1e-5)
    assert uniformity(torch.ones(5, 3)) == pytest.approx(0.0, abs=1e-6)  # collapse


def test_uniformity_matches_pairwise_loop() -> None:
    z = torch.randn(9, 4, generator=torch.Generator().manual_seed(5))
    u = torch.nn.functional.normalize(z, dim=1)
    vals = [
        math.exp(-2 * float((u[i] - u[j]).square().sum()))
        for i in range(9)
        for j in range(i + 1, 9)
    ]
    assert uniformity(z) == pytest.approx(math.log(sum(vals) / len(vals)), rel=1e-5)


def test_teacher_entropy_distinguishes_the_two_collapses() -> None:
    k = 8
    uniform = torch.full((16, k), 1 / k)
    one_hot = torch.zeros(16, k)
    one_hot[:, 3] = 1.0
    u, o = teacher_entropy(uniform), teacher_entropy(one_hot)
    assert u.mean_entropy == pytest.approx(math.log(k)) and u.max_entropy == pytest.approx(
        math.log(k)
    )
    assert o.mean_entropy == pytest.approx(0.0, abs=1e-9)
    assert o.marginal_entropy == pytest.approx(0.0, abs=1e-9)
    spread = torch.eye(k)  # confident and diverse: the healthy case
    h = teacher_entropy(spread)
    assert h.mean_entropy == pytest.approx(0.0, abs=1e-9)
    assert h.marginal_entropy == pytest.approx(math.log(k))
    with pytest.raises(ValueError, match="probabilities"):
        teacher_entropy(torch.ones(2, 3))


def test_batch_monitors_and_bad_shapes() -> None:
    z = torch.randn(32, 8, generator=torch.Generator().manual_seed(0))
    out = batch_monitors(z, z)
    assert out["alignment"] == pytest.approx(0.0, abs=1e-6)
    assert set(out) == {"embedding_std", "effective_rank", "alignment", "uniformity"}
    with pytest.raises(ValueError, match="one shape"):
        alignment(z, z[:3])
    with pytest.raises(ValueError, match="B >= 2"):
        effective_rank(torch.randn(1, 4))

"""Nearest-neighbour lookup against a brute-force loop over cosine similarities."""

from __future__ import annotations

import pytest
import torch
import torch.nn.functional as F

from selfsup.nn.neighbors import nearest_neighbor_indices, nearest_neighbors


def _brute_force(query: torch.Tensor, support: torch.Tensor) -> list[int]:
    best = []
    for q in query:
        sims = [float(F.cosine_similarity(q, s, dim=0)) for s in support]
        best.append(max(range(len(sims)), key=sims.__getitem__))
    return best


def test_matches_brute_force_and_ignores_norms() -> None:
    gen = torch.Generator().manual_seed(0)
    query = torch.randn(13, 6, generator=gen)
    support = torch.randn(40, 6, generator=gen)
    # Rescaling support rows must not change which is nearest (cosine, not dot product).
    scaled = support * torch.rand(40, 1, generator=gen).mul(10).add(0.1)
    expected = _brute_force(query, support)
    assert nearest_neighbor_indices(query, scaled).tolist() == expected
    assert torch.equal(nearest_neighbors(query, scaled), scaled[expected])


def test_known_answer() -> None:
    support = torch.eye(3)
    query = torch.tensor([[0.1, 5.0, 0.0], [-1.0, 0.0, 0.2], [2.0, 0.1, 0.1]])
    assert nearest_neighbor_indices(query, support).tolist() == [1, 2, 0]


def test_result_is_outside_autograd() -> None:
    query = torch.randn(4, 3, requires_grad=True)
    support = torch.randn(5, 3, requires_grad=True)
    assert not nearest_neighbors(query, support).requires_grad


@pytest.mark.parametrize(
    ("q_shape", "s_shape", "match"),
    [((4, 3), (5, 2), "one D"), ((4,), (5, 4), "one D"), ((4, 3), (0, 3), "non-empty")],
)
def test_bad_shapes(q_shape: tuple[int, ...], s_shape: tuple[int, ...], match: str) -> None:
    with pytest.raises(ValueError, match=match):
        nearest_neighbor_indices(torch.randn(q_shape), torch.randn(s_shape))

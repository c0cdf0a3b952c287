"""Cross-rank gather: identity in one process; values and summed gradients on 2 gloo ranks."""

from __future__ import annotations

import pytest
import torch

from distributed_helpers import require_gloo, run_ranks
from selfsup.nn import gather, gather_nograd, is_distributed, rank, world_size

WORLD, ROWS, COLS = 2, 3, 4


def rank_input(r: int) -> torch.Tensor:
    return torch.arange(ROWS * COLS, dtype=torch.float64).reshape(ROWS, COLS) + 100 * r


def rank_weights(r: int) -> torch.Tensor:
    """What rank r multiplies the gathered tensor by before summing (its upstream gradient)."""
    gen = torch.Generator().manual_seed(r)
    return torch.randn(WORLD * ROWS, COLS, generator=gen, dtype=torch.float64)


def test_single_process_is_identity() -> None:
    assert not is_distributed()
    assert (world_size(), rank()) == (1, 0)
    x = torch.randn(3, 2, requires_grad=True)
    y = gather(x)
    assert y is x
    nograd = gather_nograd(x)
    assert not nograd.requires_grad
    torch.testing.assert_close(nograd, x.detach())


def rank_body(rank_: int) -> dict[str, torch.Tensor]:
    x = rank_input(rank_).requires_grad_()
    gathered = gather(x)
    (gathered * rank_weights(rank_)).sum().backward()
    assert x.grad is not None
    nograd = gather_nograd(x)
    return {
        "world_size": torch.tensor(world_size()),
        "rank": torch.tensor(rank()),
        "gathered": gathered.detach(),
        "grad": x.grad,
        "nograd": nograd,
        "nograd_requires_grad": torch.tensor(nograd.requires_grad),
    }


@pytest.fixture(scope="module")
def rank_results(tmp_path_factory: pytest.TempPathFactory) -> list[dict[str, torch.Tensor]]:
    require_gloo()
    return run_ranks(rank_body, tmp_path_factory.mktemp("gather"), world=WORLD)


def test_gather_concatenates_ranks_in_order(rank_results: list[dict[str, torch.Tensor]]) -> None:
    expected = torch.cat([rank_input(r) for r in range(WORLD)])
    for r, result in enumerate(rank_results):
        assert (int(result["world_size"]), int(result["rank"])) == (WORLD, r)
        torch.testing.assert_close(result["gathered"], expected, atol=0, rtol=0)
        torch.testing.assert_close(result["nograd"], expected, atol=0, rtol=0)
        assert not bool(result["nograd_requires_grad"])


def test_gather_gradient_is_sum_over_ranks_of_own_slice(
    rank_results: list[dict[str, torch.Tensor]],
) -> None:
    total_upstream = torch.stack([rank_weights(r) for r in range(WORLD)]).sum(0)
    for r, result in enumerate(rank_results):
        expected = total_upstream[r * ROWS : (r + 1) * ROWS]
        torch.testing.assert_close(result["grad"], expected, atol=1e-12, rtol=0)

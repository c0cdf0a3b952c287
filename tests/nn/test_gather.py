"""Cross-rank gather: identity in one process; values and summed gradients on 2 gloo ranks."""

from __future__ import annotations

import datetime
import os
import socket
import time
from pathlib import Path

import pytest
import torch
import torch.distributed as dist
import torch.multiprocessing as mp

from selfsup.nn import gather, gather_nograd, is_distributed, rank, world_size

WORLD, ROWS, COLS = 2, 3, 4
TIMEOUT_S = 60.0


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


def worker(rank_: int, port: int, out_dir: str) -> None:
    os.environ["MASTER_ADDR"] = "127.0.0.1"
    os.environ["MASTER_PORT"] = str(port)
    torch.set_num_threads(1)
    dist.init_process_group(
        "gloo", rank=rank_, world_size=WORLD, timeout=datetime.timedelta(seconds=TIMEOUT_S)
    )
    try:
        x = rank_input(rank_).requires_grad_()
        gathered = gather(x)
        (gathered * rank_weights(rank_)).sum().backward()
        assert x.grad is not None
        nograd = gather_nograd(x)
        result = {
            "world_size": torch.tensor(world_size()),
            "rank": torch.tensor(rank()),
            "gathered": gathered.detach(),
            "grad": x.grad,
            "nograd": nograd,
            "nograd_requires_grad": torch.tensor(nograd.requires_grad),
        }
        torch.save(result, Path(out_dir) / f"rank{rank_}.pt")
        dist.barrier()  # no rank tears down the group while another still uses it
    finally:
        dist.destroy_process_group()


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


@pytest.fixture(scope="module")
def rank_results(tmp_path_factory: pytest.TempPathFactory) -> list[dict[str, torch.Tensor]]:
    if not dist.is_available() or not dist.is_gloo_available():
        pytest.skip("torch.distributed with gloo is not available")
    out_dir = tmp_path_factory.mktemp("gather")
    # Fork (one thread per child, as DataLoader workers do): spawn would re-import torch per rank.
    context = mp.start_processes(
        worker, args=(free_port(), str(out_dir)), nprocs=WORLD, join=False, start_method="fork"
    )
    deadline = time.monotonic() + TIMEOUT_S
    try:
        while not context.join(timeout=max(deadline - time.monotonic(), 0.1)):
            if time.monotonic() > deadline:
                pytest.fail(f"gather ranks did not finish within {TIMEOUT_S:.0f} s")
    finally:
        for process in context.processes:
            if process.is_alive():
                process.terminate()
                process.join(5)
    return [torch.load(out_dir / f"rank{r}.pt") for r in range(WORLD)]


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

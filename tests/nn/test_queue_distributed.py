"""MemoryQueue under 2 gloo CPU ranks: every rank ends with the same queue holding all ranks'
keys in rank order, as one process pushing the joined batches would."""

from __future__ import annotations

from pathlib import Path

import torch

from distributed_helpers import require_gloo, run_ranks
from selfsup.nn.queue import MemoryQueue

WORLD, N, DIM, SIZE = 2, 3, 4, 10


def batches() -> list[torch.Tensor]:
    gen = torch.Generator().manual_seed(0)
    return [torch.randn(WORLD * N, DIM, generator=gen) for _ in range(3)]  # 18 keys > SIZE


def rank_body(rank: int) -> dict[str, torch.Tensor]:
    queue = MemoryQueue(SIZE, DIM)
    for joined in batches():
        queue.push(joined[rank * N : (rank + 1) * N])
    return {"keys": queue.keys.clone(), "ptr": queue.ptr.clone()}


def test_every_rank_holds_all_ranks_keys(tmp_path: Path) -> None:
    require_gloo()
    per_rank = run_ranks(rank_body, tmp_path, world=WORLD)
    reference = MemoryQueue(SIZE, DIM)
    for joined in batches():
        reference.push(joined)
    for result in per_rank:
        torch.testing.assert_close(result["keys"], reference.keys)
        assert int(result["ptr"]) == int(reference.ptr) == (3 * WORLD * N) % SIZE

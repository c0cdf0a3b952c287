"""Sinkhorn under 2 gloo CPU ranks: each rank's codes equal its rows of one process's codes on
the joined batch (equipartition over the global batch), with and without shared queue rows."""

from __future__ import annotations

from pathlib import Path

import torch

from distributed_helpers import require_gloo, run_ranks
from selfsup.nn.sinkhorn import sinkhorn

WORLD, N, K, M = 2, 5, 7, 6


def joined() -> tuple[torch.Tensor, torch.Tensor]:
    gen = torch.Generator().manual_seed(0)
    scores = torch.rand(WORLD * N + M, K, generator=gen) * 2 - 1
    return scores[: WORLD * N], scores[WORLD * N :]


def rank_body(rank: int) -> dict[str, torch.Tensor]:
    batch, queue = joined()
    mine = batch[rank * N : (rank + 1) * N]
    return {"plain": sinkhorn(mine), "queued": sinkhorn(mine, shared=queue)}


def test_ranks_match_one_process_on_the_global_batch(tmp_path: Path) -> None:
    require_gloo()
    per_rank = run_ranks(rank_body, tmp_path, world=WORLD)
    batch, queue = joined()
    plain = sinkhorn(batch)
    queued = sinkhorn(torch.cat([batch, queue]))[: WORLD * N]
    for r, result in enumerate(per_rank):
        rows = slice(r * N, (r + 1) * N)
        torch.testing.assert_close(result["plain"], plain[rows])
        torch.testing.assert_close(result["queued"], queued[rows])

"""VectorQuantizer under 2 gloo CPU ranks with different vectors: the EMA codebook is the same
on both ranks and equals one process's update on the joined batch; restarted codes agree."""

from __future__ import annotations

from pathlib import Path

import torch

from distributed_helpers import require_gloo, run_ranks
from selfsup.nn.vector_quantizer import VectorQuantizer

ROWS, CODES, DIM, STEPS = (6, 10), 4, 3, 3


def joined(step: int) -> torch.Tensor:
    return torch.randn(sum(ROWS), DIM, generator=torch.Generator().manual_seed(step))


def mine(x: torch.Tensor, rank: int) -> torch.Tensor:
    return x[: ROWS[0]] if rank == 0 else x[ROWS[0] :]


def quantizer(dead_threshold: float = 0.0) -> VectorQuantizer:
    torch.manual_seed(0)  # the same initial codebook everywhere
    return VectorQuantizer(CODES, DIM, decay=0.5, dead_threshold=dead_threshold).train()


def rank_body(rank: int) -> dict[str, torch.Tensor]:
    vq = quantizer()
    for step in range(STEPS):
        vq(mine(joined(step), rank))
    restarted = quantizer(dead_threshold=1e6)  # every code is dead: all get restarted
    restarted(mine(joined(0), rank), torch.Generator().manual_seed(rank))
    return {"codebook": vq.codebook.clone(), "restarted": restarted.codebook.clone()}


def test_codebook_follows_the_global_batch(tmp_path: Path) -> None:
    require_gloo()
    per_rank = run_ranks(rank_body, tmp_path, world=len(ROWS))
    single = quantizer()
    for step in range(STEPS):
        single(joined(step))
    for result in per_rank:
        torch.testing.assert_close(result["codebook"], single.codebook)
    torch.testing.assert_close(per_rank[0]["restarted"], per_rank[1]["restarted"])
    # rank 0's own rows alone give another codebook: the test sees the all-reduce
    alone = quantizer()
    for step in range(STEPS):
        alone(mine(joined(step), 0))
    assert not torch.allclose(alone.codebook, single.codebook, atol=1e-4)

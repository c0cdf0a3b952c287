"""TeacherCentering under 2 gloo CPU ranks holding different logits and different row counts
(3 and 5, as DINOv2's masked patch tokens differ per rank): the EMA centre is the same on
every rank and equals one process's update on the joined rows, and the Sinkhorn targets are
each rank's rows of one process's targets on the joined batch."""

from __future__ import annotations

from pathlib import Path

import torch

from distributed_helpers import require_gloo, run_ranks
from selfsup.nn.centering import TeacherCentering

ROWS, K, MOMENTUM, TEMP, STEPS = (3, 5), 6, 0.7, 0.1, 2
STARTS = (0, ROWS[0])  # where each rank's rows begin in the joined batch


def joined(step: int) -> torch.Tensor:
    """The global batch of ``step``: rank r holds rows ``STARTS[r] : STARTS[r] + ROWS[r]``."""
    gen = torch.Generator().manual_seed(step)
    return torch.randn(sum(ROWS), K, generator=gen) * 3


def initial_center() -> torch.Tensor:
    return torch.linspace(-1.0, 1.0, K)  # non-zero, so the m * c term is exercised


def mine(batch: torch.Tensor, rank: int) -> torch.Tensor:
    return batch[STARTS[rank] : STARTS[rank] + ROWS[rank]]


def rank_body(rank: int) -> dict[str, torch.Tensor]:
    ema = TeacherCentering(K, "ema", momentum=MOMENTUM).train()
    ema.center.copy_(initial_center())
    centers = []
    for step in range(STEPS):
        ema(mine(joined(step), rank), TEMP)
        centers.append(ema.center.clone())
    sinkhorn = TeacherCentering(K, "sinkhorn").train()
    return {"centers": torch.stack(centers), "codes": sinkhorn(mine(joined(0), rank), TEMP)}


def test_centre_and_sinkhorn_use_every_ranks_rows(tmp_path: Path) -> None:
    require_gloo()
    per_rank = run_ranks(rank_body, tmp_path, world=len(ROWS))
    center = initial_center()
    expected = []
    for step in range(STEPS):  # the closed form on the joined rows, step by step
        center = MOMENTUM * center + (1 - MOMENTUM) * joined(step).mean(dim=0)
        expected.append(center)
    codes = TeacherCentering(K, "sinkhorn")(joined(0), TEMP)
    for rank, result in enumerate(per_rank):
        torch.testing.assert_close(result["centers"], torch.stack(expected))
        torch.testing.assert_close(result["codes"], mine(codes, rank))
    # Each rank's own rows alone would give another centre: the test sees the all-reduce.
    local = MOMENTUM * initial_center() + (1 - MOMENTUM) * mine(joined(0), 0).mean(dim=0)
    assert not torch.allclose(local, expected[0], atol=1e-3)

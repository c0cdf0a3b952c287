"""KMeans under 2 gloo CPU ranks holding different frames: from the same start the centroids
and inertia are one process's on the joined data; with k-means++ seeding both ranks agree."""

from __future__ import annotations

from pathlib import Path

import torch

from distributed_helpers import require_gloo, run_ranks
from selfsup.nn.kmeans import KMeans

ROWS = (700, 1100)  # unequal shares, so counts must be summed, not averaged


def joined() -> torch.Tensor:
    return torch.randn(sum(ROWS), 4, generator=torch.Generator().manual_seed(0))


def mine(x: torch.Tensor, rank: int) -> torch.Tensor:
    return x[: ROWS[0]] if rank == 0 else x[ROWS[0] :]


def init() -> torch.Tensor:
    # far-off last centroid: empty in the first pass, so re-seeding runs across ranks too
    return torch.cat([joined()[:7], torch.full((1, 4), 50.0)])


def lloyd(x: torch.Tensor) -> KMeans:
    return KMeans(8, iterations=6, tol=0.0, chunk_size=256).fit(x, init=init())


def rank_body(rank: int) -> dict[str, object]:
    x = mine(joined(), rank)
    fixed = lloyd(x)
    seeded = KMeans(8, iterations=3, seed=5, init_sample=300).fit(x)
    return {
        "centroids": fixed.centroids,
        "history": torch.tensor(fixed.history),
        "seeded": seeded.centroids,
        "inertia": torch.tensor(fixed.inertia(x)),
    }


def test_centroids_are_the_joined_datas(tmp_path: Path) -> None:
    require_gloo()
    per_rank = run_ranks(rank_body, tmp_path, world=len(ROWS))
    single = lloyd(joined())
    assert single.centroids is not None
    for result in per_rank:
        torch.testing.assert_close(result["centroids"], single.centroids)
        torch.testing.assert_close(result["history"], torch.tensor(single.history))
        torch.testing.assert_close(result["inertia"], torch.tensor(single.inertia(joined())))
    torch.testing.assert_close(per_rank[0]["seeded"], per_rank[1]["seeded"])
    # rank 0's frames alone give other centroids: the test sees the all-reduce
    alone = lloyd(mine(joined(), 0))
    assert alone.centroids is not None
    assert not torch.allclose(alone.centroids, single.centroids, atol=1e-3)

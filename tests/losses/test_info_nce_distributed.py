"""InfoNCELoss with in-batch negatives under DDP: 2 gloo CPU ranks with different data give the
same mean loss and the same gradients as 1 process on the joined batch."""

from __future__ import annotations

from pathlib import Path

import torch
from torch import nn

from distributed_helpers import parameter_grads, require_gloo, run_ranks
from selfsup.losses.info_nce import InfoNCELoss

WORLD, N, IN_DIM, OUT_DIM = 2, 3, 6, 5


def make_model() -> nn.Module:
    torch.manual_seed(0)
    return nn.Sequential(nn.Linear(IN_DIM, 16), nn.ReLU(), nn.Linear(16, OUT_DIM))


def joined_batch() -> tuple[torch.Tensor, torch.Tensor]:
    gen = torch.Generator().manual_seed(0)
    x_q = torch.randn(WORLD * N, IN_DIM, generator=gen)
    return x_q, x_q + 0.3 * torch.randn(WORLD * N, IN_DIM, generator=gen)


def loss_and_grads(model: nn.Module, x_q: torch.Tensor, x_k: torch.Tensor) -> dict:
    model.zero_grad(set_to_none=True)
    q, k = model(torch.cat([x_q, x_k])).chunk(2)  # one forward call per step, as DDP wants
    loss = InfoNCELoss(temperature=0.3)(q, k)
    loss.backward()
    return {"loss": loss.detach(), **parameter_grads(model)}


def rank_body(rank: int) -> dict:
    x_q, x_k = joined_batch()
    mine = slice(rank * N, (rank + 1) * N)
    return loss_and_grads(nn.parallel.DistributedDataParallel(make_model()), x_q[mine], x_k[mine])


def test_ddp_in_batch_negatives_match_one_process(tmp_path: Path) -> None:
    require_gloo()
    per_rank = run_ranks(rank_body, tmp_path, world=WORLD)
    reference = loss_and_grads(make_model(), *joined_batch())
    assert not torch.allclose(per_rank[0]["loss"], per_rank[1]["loss"])  # different data
    mean_loss = sum(r["loss"] for r in per_rank) / WORLD
    torch.testing.assert_close(mean_loss, reference["loss"], atol=1e-5, rtol=0)
    names = [k for k in reference if k != "loss"]
    assert len(names) == 4
    for result in per_rank:
        for name in names:
            torch.testing.assert_close(result[name], reference[name], atol=1e-5, rtol=0)

"""ClipLoss under DDP: 2 gloo CPU ranks with different pairs give the same mean loss and the
same gradients (towers and logit scale alike) as 1 process on the joined batch."""

from __future__ import annotations

from pathlib import Path

import torch
from torch import nn

from distributed_helpers import parameter_grads, require_gloo, run_ranks
from selfsup.losses.clip import ClipLoss

WORLD, N, DIM_A, DIM_B, OUT = 2, 3, 6, 4, 5


class Towers(nn.Module):
    """Two linear towers and a learned logit scale: the parts of CLIP the loss touches."""

    def __init__(self) -> None:
        super().__init__()
        torch.manual_seed(0)
        self.a, self.b = nn.Linear(DIM_A, OUT), nn.Linear(DIM_B, OUT)
        self.logit_scale = nn.Parameter(torch.tensor(2.0))

    def forward(self, x_a: torch.Tensor, x_b: torch.Tensor) -> torch.Tensor:
        return ClipLoss(gather=True)(self.a(x_a), self.b(x_b), self.logit_scale.exp()).loss


def joined_batch() -> tuple[torch.Tensor, torch.Tensor]:
    gen = torch.Generator().manual_seed(0)
    return torch.randn(WORLD * N, DIM_A, generator=gen), torch.randn(
        WORLD * N, DIM_B, generator=gen
    )


def loss_and_grads(model: nn.Module, x_a: torch.Tensor, x_b: torch.Tensor) -> dict:
    model.zero_grad(set_to_none=True)
    loss = model(x_a, x_b)
    loss.backward()
    return {"loss": loss.detach(), **parameter_grads(model)}


def rank_body(rank: int) -> dict:
    x_a, x_b = joined_batch()
    mine = slice(rank * N, (rank + 1) * N)
    return loss_and_grads(nn.parallel.DistributedDataParallel(Towers()), x_a[mine], x_b[mine])


def test_ddp_gathered_clip_loss_matches_one_process(tmp_path: Path) -> None:
    require_gloo()
    per_rank = run_ranks(rank_body, tmp_path, world=WORLD)
    reference = loss_and_grads(Towers(), *joined_batch())
    assert not torch.allclose(per_rank[0]["loss"], per_rank[1]["loss"])  # different data
    mean_loss = sum(r["loss"] for r in per_rank) / WORLD
    torch.testing.assert_close(mean_loss, reference["loss"], atol=1e-5, rtol=0)
    names = [k for k in reference if k != "loss"]
    assert len(names) == 5  # a.weight, a.bias, b.weight, b.bias, logit_scale
    for result in per_rank:
        for name in names:
            torch.testing.assert_close(result[name], reference[name], atol=1e-5, rtol=0)

"""NTXentLoss under DDP: 2 gloo CPU ranks with different data == 1 process on the joined batch.

SyncBatchNorm refuses CPU tensors in this torch ("expected input tensor to be on GPU"), so the
model is a BN-free MLP; the check is about the loss's cross-rank gradients, not about BN.
"""

from __future__ import annotations

import pytest
import torch
from torch import nn

import selfsup.losses.nt_xent as nt_xent_module
from distributed_helpers import parameter_grads, require_gloo, run_ranks
from selfsup.losses import NTXentLoss
from selfsup.nn import gather_nograd, rank

WORLD = 2
IN_DIM, OUT_DIM, TEMPERATURE = 6, 5, 0.3
PER_RANK_SIZES = (1, 4)  # 1 sample per rank only has negatives thanks to the other rank
NUM_VIEWS = (2, 3)  # SimCLR, and multi-crop (every other view of a sample is a positive)


def make_model() -> nn.Module:
    torch.manual_seed(0)
    return nn.Sequential(nn.Linear(IN_DIM, 16), nn.ReLU(), nn.Linear(16, OUT_DIM))


def joined_batch(n_global: int, views: int) -> list[torch.Tensor]:
    """Views [n_global, IN_DIM] of a fixed batch; rank r owns rows r*N .. (r+1)*N - 1."""
    gen = torch.Generator().manual_seed(n_global)
    x = torch.randn(n_global, IN_DIM, generator=gen)
    return [x + 0.3 * torch.randn(n_global, IN_DIM, generator=gen) for _ in range(views)]


def loss_and_grads(model: nn.Module, xs: list[torch.Tensor]) -> dict[str, torch.Tensor]:
    model.zero_grad(set_to_none=True)
    zs = model(torch.cat(xs)).chunk(len(xs))  # one forward call per step, as DDP wants
    loss = NTXentLoss(temperature=TEMPERATURE, gather=True)(*zs)
    loss.backward()
    return {"loss": loss.detach(), **parameter_grads(model)}


def gather_local_grad_only(x: torch.Tensor) -> torch.Tensor:
    """The classic mistake: other ranks' rows gathered without gradient, own rows kept local."""
    n, r = x.shape[0], rank()
    gathered = gather_nograd(x)
    return torch.cat([gathered[: r * n], x, gathered[(r + 1) * n :]])


def rank_body(rank_: int) -> dict[str, dict[str, torch.Tensor]]:
    """One DDP rank: its own part of each joined batch, with and without cross-rank gradients."""
    model = nn.parallel.DistributedDataParallel(make_model())
    differentiable_gather = nt_xent_module.gather_ranks
    results: dict[str, dict[str, torch.Tensor]] = {}
    for n in PER_RANK_SIZES:
        for v in NUM_VIEWS:
            mine = [x[rank_ * n : (rank_ + 1) * n] for x in joined_batch(WORLD * n, v)]
            results[f"gather/{n}/{v}"] = loss_and_grads(model, mine)
            nt_xent_module.gather_ranks = gather_local_grad_only
            results[f"local_grad_only/{n}/{v}"] = loss_and_grads(model, mine)
            nt_xent_module.gather_ranks = differentiable_gather
    return results


@pytest.fixture(scope="module")
def rank_results(tmp_path_factory: pytest.TempPathFactory) -> list[dict]:
    require_gloo()
    return run_ranks(rank_body, tmp_path_factory.mktemp("ddp"), world=WORLD)


@pytest.mark.parametrize("v", NUM_VIEWS)
@pytest.mark.parametrize("n", PER_RANK_SIZES)
def test_ddp_loss_and_every_gradient_match_one_process(
    rank_results: list[dict], n: int, v: int
) -> None:
    reference = loss_and_grads(make_model(), joined_batch(WORLD * n, v))
    per_rank = [r[f"gather/{n}/{v}"] for r in rank_results]

    assert not torch.allclose(per_rank[0]["loss"], per_rank[1]["loss"])  # different data
    mean_loss = sum(r["loss"] for r in per_rank) / WORLD
    torch.testing.assert_close(mean_loss, reference["loss"], atol=1e-5, rtol=0)
    names = [k for k in reference if k != "loss"]
    assert len(names) == 4
    for result in per_rank:
        for name in names:
            torch.testing.assert_close(result[name], reference[name], atol=1e-5, rtol=0)


@pytest.mark.parametrize("v", NUM_VIEWS)
@pytest.mark.parametrize("n", PER_RANK_SIZES)
def test_gather_without_cross_rank_gradient_would_be_caught(
    rank_results: list[dict], n: int, v: int
) -> None:
    # Same forward value, but gradients miss the other ranks' terms: the check above can fail.
    reference = loss_and_grads(make_model(), joined_batch(WORLD * n, v))
    per_rank = [r[f"local_grad_only/{n}/{v}"] for r in rank_results]
    mean_loss = sum(r["loss"] for r in per_rank) / WORLD
    torch.testing.assert_close(mean_loss, reference["loss"], atol=1e-5, rtol=0)
    worst = max(
        (per_rank[0][name] - reference[name]).abs().max().item()
        for name in reference
        if name != "loss"
    )
    assert worst > 1e-3

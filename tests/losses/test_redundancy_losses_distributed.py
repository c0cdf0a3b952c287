"""BarlowTwinsLoss and VICRegLoss under DDP: 2 gloo CPU ranks, each with its part of a joined
batch, give the loss and the gradients of 1 process on the joined batch (batch statistics,
cross-correlation and covariance are global).

The model is BN-free (SyncBatchNorm refuses CPU tensors here): the check is about the losses.
"""

from __future__ import annotations

import pytest
import torch
from torch import nn

from distributed_helpers import parameter_grads, require_gloo, run_ranks
from selfsup.losses.barlow_twins import BarlowTwinsLoss
from selfsup.losses.vicreg import VICRegLoss

WORLD = 2
IN_DIM, OUT_DIM = 6, 5
PER_RANK_SIZES = (1, 4)  # 1 sample per rank has batch statistics only thanks to the other rank
LOSSES = {
    "barlow_twins": lambda gather: BarlowTwinsLoss(lambda_offdiag=0.1, gather=gather),
    "vicreg": lambda gather: VICRegLoss(gather=gather),
}


def make_model() -> nn.Module:
    torch.manual_seed(0)
    return nn.Linear(IN_DIM, OUT_DIM)


def joined_batch(n_global: int) -> tuple[torch.Tensor, torch.Tensor]:
    """Two views [n_global, IN_DIM] of a fixed batch; rank r owns rows r*N .. (r+1)*N - 1."""
    gen = torch.Generator().manual_seed(n_global)
    x_a = torch.randn(n_global, IN_DIM, generator=gen)
    return x_a, x_a + 0.5 * torch.randn(n_global, IN_DIM, generator=gen)


def loss_and_grads(
    loss_name: str, model: nn.Module, x_a: torch.Tensor, x_b: torch.Tensor, gather: bool = True
) -> dict[str, torch.Tensor]:
    model.zero_grad(set_to_none=True)
    z_a, z_b = model(torch.cat([x_a, x_b])).chunk(2)  # one forward call per step, as DDP wants
    loss = LOSSES[loss_name](gather)(z_a, z_b)
    loss.backward()
    return {"loss": loss.detach(), **parameter_grads(model)}


def rank_body(rank_: int) -> dict[str, dict[str, torch.Tensor]]:
    model = nn.parallel.DistributedDataParallel(make_model())
    results = {}
    for loss_name in LOSSES:
        for n in PER_RANK_SIZES:
            x_a, x_b = joined_batch(WORLD * n)
            mine = slice(rank_ * n, (rank_ + 1) * n)
            results[f"{loss_name}/gather/{n}"] = loss_and_grads(
                loss_name, model, x_a[mine], x_b[mine]
            )
        # Control: per-rank statistics (no gather) are a different loss, so the check can fail.
        n = PER_RANK_SIZES[-1]
        x_a, x_b = joined_batch(WORLD * n)
        mine = slice(rank_ * n, (rank_ + 1) * n)
        results[f"{loss_name}/local/{n}"] = loss_and_grads(
            loss_name, model, x_a[mine], x_b[mine], gather=False
        )
    return results


@pytest.fixture(scope="module")
def rank_results(tmp_path_factory: pytest.TempPathFactory) -> list[dict]:
    require_gloo()
    return run_ranks(rank_body, tmp_path_factory.mktemp("ddp"), world=WORLD)


@pytest.mark.parametrize("loss_name", LOSSES)
@pytest.mark.parametrize("n", PER_RANK_SIZES)
def test_ddp_loss_and_gradients_match_one_process(
    rank_results: list[dict], loss_name: str, n: int
) -> None:
    x_a, x_b = joined_batch(WORLD * n)
    reference = loss_and_grads(loss_name, make_model(), x_a, x_b)
    assert set(reference) == {"loss", "weight", "bias"}
    per_rank = [r[f"{loss_name}/gather/{n}"] for r in rank_results]
    mean_loss = sum(r["loss"] for r in per_rank) / WORLD
    torch.testing.assert_close(mean_loss, reference["loss"], atol=1e-5, rtol=1e-5)
    for result in per_rank:
        for name in ("weight", "bias"):  # DDP has averaged them: every rank holds the same
            torch.testing.assert_close(result[name], reference[name], atol=1e-5, rtol=1e-5)


@pytest.mark.parametrize("n", PER_RANK_SIZES)
def test_barlow_twins_gives_every_rank_the_joined_batch_loss(
    rank_results: list[dict], n: int
) -> None:
    # Its loss is a function of global statistics only, so it is identical on every rank.
    x_a, x_b = joined_batch(WORLD * n)
    reference = loss_and_grads("barlow_twins", make_model(), x_a, x_b)
    for result in rank_results:
        torch.testing.assert_close(
            result[f"barlow_twins/gather/{n}"]["loss"], reference["loss"], atol=1e-5, rtol=1e-5
        )


@pytest.mark.parametrize("loss_name", LOSSES)
def test_per_rank_statistics_differ_from_the_joined_batch(
    rank_results: list[dict], loss_name: str
) -> None:
    n = PER_RANK_SIZES[-1]
    x_a, x_b = joined_batch(WORLD * n)
    reference = loss_and_grads(loss_name, make_model(), x_a, x_b)
    per_rank = [r[f"{loss_name}/local/{n}"] for r in rank_results]
    mean_loss = sum(r["loss"] for r in per_rank) / WORLD
    assert (mean_loss - reference["loss"]).abs() > 1e-3
    assert (per_rank[0]["weight"] - reference["weight"]).abs().max() > 1e-3

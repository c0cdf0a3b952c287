"""GumbelVectorQuantizer under 2 gloo CPU ranks with different utterances: the perplexities are
the joined batch's, and the rank-averaged gradient of the diversity loss is its gradient."""

from __future__ import annotations

from pathlib import Path

import torch

from distributed_helpers import require_gloo, run_ranks
from selfsup.nn.gumbel_quantizer import GumbelVectorQuantizer

ROWS = (2, 3)  # utterances per rank: unequal frame counts must weigh by frames, not by rank


def joined() -> tuple[torch.Tensor, torch.Tensor]:
    x = torch.randn(sum(ROWS), 6, 8, generator=torch.Generator().manual_seed(0))
    frames = torch.rand(sum(ROWS), 6, generator=torch.Generator().manual_seed(1)) < 0.5
    return x, frames


def mine(t: torch.Tensor, rank: int) -> torch.Tensor:
    return t[: ROWS[0]] if rank == 0 else t[ROWS[0] :]


def quantizer() -> GumbelVectorQuantizer:
    torch.manual_seed(0)  # the same weights everywhere
    return GumbelVectorQuantizer(8, groups=2, codewords=16, codevector_dim=12).eval()


def run(x: torch.Tensor, frames: torch.Tensor) -> dict[str, torch.Tensor]:
    q = quantizer()
    out = q(x, frames)
    out.diversity_loss.backward()
    assert q.logits.weight.grad is not None
    return {
        "prob": out.prob_perplexity.detach(),
        "code": out.code_perplexity,
        "grad": q.logits.weight.grad.clone(),
    }


def rank_body(rank: int) -> dict[str, torch.Tensor]:
    x, frames = joined()
    return run(mine(x, rank), mine(frames, rank))


def test_perplexity_and_gradient_are_the_joined_batch(tmp_path: Path) -> None:
    require_gloo()
    per_rank = run_ranks(rank_body, tmp_path, world=len(ROWS))
    single = run(*joined())
    for result in per_rank:
        torch.testing.assert_close(result["prob"], single["prob"])
        torch.testing.assert_close(result["code"], single["code"])
    # DDP averages the ranks' gradients
    averaged = (per_rank[0]["grad"] + per_rank[1]["grad"]) / 2
    torch.testing.assert_close(averaged, single["grad"])
    # rank 0's frames alone give another perplexity: the test sees the gather
    x, frames = joined()
    alone = run(mine(x, 0), mine(frames, 0))
    assert not torch.allclose(alone["prob"], single["prob"])

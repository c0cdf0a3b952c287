"""Sinkhorn-Knopp equipartition (SwAV's online codes), over the global batch.

Soft assignments of samples to prototypes are made to use every prototype equally often:
the transport plan ``exp(scores / epsilon)`` is alternately rescaled so that each prototype
receives ``B / K`` of the mass and each sample ``1``, where ``B`` counts the samples of every
rank. Under DDP the prototype (column) sums and the row counts are all-reduced, so the
equipartition holds for the global batch (ranks may hold different numbers of rows) while each
rank keeps only its own rows.
"""

from __future__ import annotations

import torch
import torch.distributed as dist

from selfsup.nn.gather import world_size


def _all_reduce(x: torch.Tensor, op: dist.ReduceOp.RedOpType = dist.ReduceOp.SUM) -> torch.Tensor:
    if world_size() > 1:
        dist.all_reduce(x, op=op)
    return x


@torch.no_grad()
def sinkhorn(
    scores: torch.Tensor,
    epsilon: float = 0.05,
    iterations: int = 3,
    shared: torch.Tensor | None = None,
) -> torch.Tensor:
    """Codes ``Q [B, K]`` for this rank's ``scores [B, K]`` (rows sum to 1, no gradient).

    Args:
        scores: sample-prototype similarities of this rank's samples.
        epsilon: entropy regularisation; smaller gives sharper codes (SwAV: 0.05).
        iterations: Sinkhorn-Knopp rounds (SwAV: 3). After them, the prototype sums over the
            global batch approximate ``B_global / K``; many rounds make them exact.
        shared: optional extra rows ``[M, K]`` that every rank holds identically (e.g. scores
            of a gathered memory queue); they join the equipartition once, not once per rank,
            and their codes are not returned.
    """
    if scores.dim() != 2 or scores.shape[0] < 1 or scores.shape[1] < 1:
        raise ValueError(f"sinkhorn expects scores of shape [B, K], got {tuple(scores.shape)}")
    if not epsilon > 0 or iterations < 1:
        raise ValueError(
            f"sinkhorn needs epsilon > 0 and iterations >= 1, got {epsilon} and {iterations}"
        )
    if shared is not None and (shared.dim() != 2 or shared.shape[1] != scores.shape[1]):
        raise ValueError(
            f"sinkhorn expects shared rows of shape [M, {scores.shape[1]}], "
            f"got {tuple(shared.shape)}"
        )
    local = scores.shape[0]
    logits = scores.float() / epsilon
    if shared is not None:
        logits = torch.cat([logits, shared.to(logits) / epsilon])
    # Subtracting the global max changes nothing after normalisation but keeps exp finite.
    peak = _all_reduce(logits.max().clone(), dist.ReduceOp.MAX)
    q = torch.exp(logits - peak)  # [B + M, K]
    extra = 0 if shared is None else shared.shape[0]
    # Ranks may hold different row counts (DINOv2's masked patch tokens): count them all.
    rows = _all_reduce(torch.tensor(float(local), device=q.device))
    total = rows + extra  # samples in the global batch
    k = scores.shape[1]

    def global_col_sums(q: torch.Tensor) -> torch.Tensor:
        cols = q[:local].sum(dim=0)
        _all_reduce(cols)
        return cols + q[local:].sum(dim=0)  # shared rows counted once

    q = q / global_col_sums(q).sum()
    for _ in range(iterations):
        q = q / (global_col_sums(q) * k)  # each prototype gets 1/K of the mass
        q = q / (q.sum(dim=1, keepdim=True) * total)  # each sample gets 1/B of it
    return (q * total)[:local]

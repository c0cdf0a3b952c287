"""Exact cosine top-k in torch: ``[query chunk × bank chunk]`` tiles with a running top-k.

Memory stays at one tile (``chunk_size × bank_chunk_size`` similarities plus one normalised
bank chunk) however large the bank and the query set are. The bank may come in several parts
(an index filled chunk by chunk); indices then count across the parts in order.
"""

from __future__ import annotations

from collections.abc import Sequence

import torch


def exact_topk(
    bank_parts: Sequence[torch.Tensor],
    queries: torch.Tensor,
    k: int,
    chunk_size: int = 1024,
    bank_chunk_size: int = 32768,
) -> tuple[torch.Tensor, torch.Tensor]:
    """Cosine similarities and indices ``([Q, k], [Q, k])`` of each query's ``k`` nearest bank
    rows, best first; ``k`` must not exceed the bank size. Work happens on the first part's
    device in float32."""
    device = bank_parts[0].device
    dim = bank_parts[0].shape[1]
    longest = max(len(p) for p in bank_parts)
    sims_out = torch.empty(len(queries), k, dtype=torch.float32, device=device)
    idx_out = torch.empty(len(queries), k, dtype=torch.long, device=device)
    # Reused buffers: fresh 100 MB tiles per step cost more in page faults than in arithmetic.
    bank_buf = torch.empty(min(bank_chunk_size, longest) * dim, device=device)
    sim_buf = torch.empty(
        min(chunk_size, len(queries)) * min(bank_chunk_size, longest), device=device
    )
    for q0 in range(0, len(queries), chunk_size):
        q = unit_rows(queries[q0 : q0 + chunk_size].to(device), "query")  # [q, D]
        best_sim = q.new_empty(len(q), 0)  # running top-k similarities [q, <=k]
        best_idx = torch.empty(len(q), 0, dtype=torch.long, device=device)
        offset = 0
        for part in bank_parts:
            for b0 in range(0, len(part), bank_chunk_size):
                chunk = part[b0 : b0 + bank_chunk_size].to(device)
                b = unit_rows(chunk, "bank", out=bank_buf[: chunk.numel()].view(chunk.shape))
                sim = torch.mm(q, b.T, out=sim_buf[: len(q) * len(b)].view(len(q), len(b)))
                chunk_sim, chunk_pos = sim.topk(min(k, len(b)), dim=1)  # [q, <=k]
                best_sim, best_idx = _merge(
                    best_sim, best_idx, chunk_sim, chunk_pos + offset + b0, k
                )
            offset += len(part)
        sims_out[q0 : q0 + len(q)] = best_sim
        idx_out[q0 : q0 + len(q)] = best_idx
    return sims_out, idx_out


def _merge(
    best_sim: torch.Tensor, best_idx: torch.Tensor, sim: torch.Tensor, idx: torch.Tensor, k: int
) -> tuple[torch.Tensor, torch.Tensor]:
    """Top-k of the running candidates joined with new ones, best first."""
    cand_sim = torch.cat([best_sim, sim], dim=1)  # [q, <=k + m]
    cand_idx = torch.cat([best_idx, idx], dim=1)
    top_sim, pos = cand_sim.topk(min(k, cand_sim.shape[1]), dim=1)
    return top_sim, cand_idx.gather(1, pos)


def unit_rows(x: torch.Tensor, what: str, out: torch.Tensor | None = None) -> torch.Tensor:
    """Rows scaled to unit L2 norm in float32 (zero rows stay zero), written to ``out`` if given.

    Raises ``ValueError`` naming ``what`` (bank, query) when a row holds NaN or inf.
    """
    x = x.float()
    norms = torch.linalg.vector_norm(x, dim=1, keepdim=True).clamp_min_(1e-12)
    x = torch.div(x, norms, out=out) if out is not None else x / norms
    if not torch.isfinite(norms).all():
        raise ValueError(f"{what} features contain NaN or inf")
    return x

"""Nearest-neighbour lookup in a support set (NNCLR's positives, kNN-style retrieval)."""

from __future__ import annotations

import torch
import torch.nn.functional as F


@torch.no_grad()
def nearest_neighbor_indices(query: torch.Tensor, support: torch.Tensor) -> torch.Tensor:
    """Index ``[N]`` of each query row's most cosine-similar row of ``support``.

    Args:
        query: ``[N, D]`` vectors (need not be normalised).
        support: ``[K, D]`` candidates, ``K >= 1``.
    """
    if query.dim() != 2 or support.dim() != 2 or query.shape[1] != support.shape[1]:
        raise ValueError(
            "nearest_neighbor_indices expects query [N, D] and support [K, D] with one D, got "
            f"{tuple(query.shape)} and {tuple(support.shape)}"
        )
    if support.shape[0] < 1:
        raise ValueError("nearest_neighbor_indices needs a non-empty support set")
    sims = F.normalize(query, dim=1) @ F.normalize(support.to(query.dtype), dim=1).T  # [N, K]
    return sims.argmax(dim=1)


@torch.no_grad()
def nearest_neighbors(query: torch.Tensor, support: torch.Tensor) -> torch.Tensor:
    """The rows ``[N, D]`` of ``support`` nearest (by cosine) to each row of ``query``.

    Returned rows are copies of the support rows, outside autograd: a neighbour is a target.
    """
    return support[nearest_neighbor_indices(query, support)].to(query.dtype)

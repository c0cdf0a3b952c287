"""Permutation sets for jigsaw puzzles, chosen greedily for maximal minimum Hamming distance.

Noroozi & Favaro (2016, algorithm 1): start from one permutation and repeatedly add the one
farthest (by Hamming distance: the number of positions that differ) from all chosen so far.
The farther apart the classes, the less a network can solve the task by low-level shortcuts.
"""

from __future__ import annotations

import functools

import torch

MAX_PERMUTATIONS = 1000


@functools.lru_cache(maxsize=2)
def all_permutations(n: int) -> torch.Tensor:
    """Every permutation of ``range(n)`` in lexicographic order: ``[n!, n]`` int8."""
    perms = torch.zeros(1, 0, dtype=torch.int8)
    for k in range(1, n + 1):
        # Permutations of k from those of k - 1: each first value, then the rest renumbered.
        perms = torch.cat(
            [
                torch.cat(
                    [torch.full((len(perms), 1), f, dtype=torch.int8), perms + (perms >= f)], 1
                )
                for f in range(k)
            ]
        )
    return perms


def _distances_to(columns: torch.Tensor, perm: torch.Tensor) -> torch.Tensor:
    """Hamming distance of every candidate (``columns``: ``[n, N]``) to ``perm``: ``[N]``."""
    same = columns[0] == perm[0]
    matches = same.to(torch.uint8)
    for j in range(1, columns.shape[0]):
        matches += columns[j] == perm[j]
    return columns.shape[0] - matches


def hamming_distances(perms: torch.Tensor) -> torch.Tensor:
    """Pairwise Hamming distances ``[P, P]`` of permutations ``[P, n]``."""
    return (perms[:, None, :] != perms[None, :, :]).sum(-1)


def min_hamming_distance(perms: torch.Tensor) -> int:
    """The smallest Hamming distance between two different permutations of the set."""
    if perms.shape[0] < 2:
        raise ValueError("the minimum distance needs at least 2 permutations")
    d = hamming_distances(perms)
    d.fill_diagonal_(perms.shape[1] + 1)
    return int(d.min())


def max_hamming_permutations(count: int, seed: int = 0, n: int = 9) -> torch.Tensor:
    """``count`` permutations of ``range(n)`` ``[count, n]`` (long), greedily max-min Hamming.

    The seed picks the first permutation and breaks ties (candidates are visited in a seeded
    random order, and ``argmax`` takes the first maximum), so one seed gives one set.
    """
    if not 2 <= count <= MAX_PERMUTATIONS:
        raise ValueError(f"permutation count must be in [2, {MAX_PERMUTATIONS}], got {count}")
    gen = torch.Generator().manual_seed(seed)
    candidates = all_permutations(n)
    candidates = candidates[torch.randperm(candidates.shape[0], generator=gen)]
    columns = candidates.t().contiguous()  # [n, N]: one comparison per position
    chosen = [0]
    # Distance of every candidate to its nearest chosen permutation, updated per pick.
    nearest = _distances_to(columns, candidates[0])
    for _ in range(count - 1):
        pick = int(torch.argmax(nearest))
        chosen.append(pick)
        nearest = torch.minimum(nearest, _distances_to(columns, candidates[pick]))
    return candidates[chosen].long()

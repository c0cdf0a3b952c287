"""Jigsaw permutation sets: valid, as far apart as promised, and fixed by their seed."""

from __future__ import annotations

import math

import pytest
import torch

from selfsup.nn.permutations import (
    all_permutations,
    hamming_distances,
    max_hamming_permutations,
    min_hamming_distance,
)


def test_all_permutations_are_every_ordering_once() -> None:
    perms = all_permutations(5)
    assert perms.shape == (math.factorial(5), 5)
    assert torch.equal(perms.sort(1).values, torch.arange(5, dtype=torch.int8).expand(120, 5))
    assert torch.unique(perms, dim=0).shape[0] == 120


# The greedy set's minimum distance (documented in the jigsaw method): 100 -> 6, 1000 -> 5.
@pytest.mark.parametrize(("count", "promised"), [(8, 9), (30, 7), (100, 6)])
def test_set_meets_its_promised_minimum_hamming_distance(count: int, promised: int) -> None:
    perms = max_hamming_permutations(count, seed=0)
    assert perms.shape == (count, 9)
    assert torch.equal(perms.sort(1).values, torch.arange(9).expand(count, 9))
    d = hamming_distances(perms)
    off_diagonal = d[~torch.eye(count, dtype=torch.bool)]
    assert int(off_diagonal.min()) == min_hamming_distance(perms) >= promised


def test_greedy_beats_random_sets() -> None:
    gen = torch.Generator().manual_seed(0)
    random_set = torch.stack([torch.randperm(9, generator=gen) for _ in range(30)])
    assert min_hamming_distance(max_hamming_permutations(30, seed=0)) > min_hamming_distance(
        random_set
    )


def test_the_seed_fixes_the_set() -> None:
    a, b = max_hamming_permutations(20, seed=3), max_hamming_permutations(20, seed=3)
    assert torch.equal(a, b)
    assert not torch.equal(a, max_hamming_permutations(20, seed=4))


@pytest.mark.parametrize("count", [1, 1001])
def test_counts_outside_the_range_are_refused(count: int) -> None:
    with pytest.raises(ValueError, match="permutation count"):
        max_hamming_permutations(count)

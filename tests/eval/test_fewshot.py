"""Few-label sampling is class-balanced and seed-reproducible; the protocol averages seeds."""

from __future__ import annotations

import statistics

import pytest
import torch

from selfsup.eval.features import Features
from selfsup.eval.fewshot import fewshot_evaluate, sample_few_labels
from selfsup.eval.linear import linear_probe

LABELS = torch.tensor([0] * 50 + [1] * 30 + [2] * 20)


def per_class(idx: torch.Tensor) -> list[int]:
    return torch.bincount(LABELS[idx], minlength=3).tolist()


def test_per_class_takes_exactly_n_of_each_and_is_seed_reproducible() -> None:
    a, b, c = (sample_few_labels(LABELS, s, per_class=4) for s in (0, 0, 1))
    assert per_class(a) == [4, 4, 4]
    assert torch.equal(a, b) and not torch.equal(a, c)
    assert len(set(a.tolist())) == 12


def test_fraction_and_count_are_proportional_and_exact() -> None:
    idx = sample_few_labels(LABELS, 0, fraction=0.1)
    assert per_class(idx) == [5, 3, 2]
    idx = sample_few_labels(LABELS, 0, count=15)  # 1 each + 12 shared 50:30:20 = 6, 3.6, 2.4
    assert len(idx) == 15 and per_class(idx) == [7, 5, 3]


def test_impossible_requests_fail_clearly() -> None:
    with pytest.raises(ValueError, match="fewer than 25"):
        sample_few_labels(LABELS, 0, per_class=25)
    with pytest.raises(ValueError, match="exactly one"):
        sample_few_labels(LABELS, 0, per_class=2, fraction=0.1)
    with pytest.raises(ValueError, match="one per class"):
        sample_few_labels(LABELS, 0, count=2)


def blobs(n: int, seed: int) -> Features:
    gen = torch.Generator().manual_seed(seed)
    y = torch.arange(n) % 3
    centres = torch.tensor([[4.0, 0, 0, 0], [0, 4.0, 0, 0], [0, 0, 4.0, 0]])
    return Features(centres[y] + torch.randn(n, 4, generator=gen), y)


def test_protocol_is_the_linear_probe_on_each_seeds_subset() -> None:
    train, test = blobs(90, 0), blobs(60, 1)
    r = fewshot_evaluate(train, test, seeds=(0, 1), per_class=5, knn_k=3, epochs=50)
    expected = []
    for seed in (0, 1):
        idx = sample_few_labels(train.labels, seed, per_class=5)
        sub = Features(train.features[idx], train.labels[idx])
        expected.append(linear_probe(sub, test, epochs=50, seed=seed).test_accuracy)
    assert r.per_seed["linear"] == expected
    assert r.summary()["linear_mean"] == pytest.approx(statistics.fmean(expected))
    assert r.summary()["linear_std"] == pytest.approx(statistics.stdev(expected))
    assert r.labels_used == 15 and len(r.per_seed["knn"]) == 2
    one = fewshot_evaluate(train, test, seeds=(0,), per_class=1)  # no val split possible
    assert one.summary()["linear_mean"] > 0.8

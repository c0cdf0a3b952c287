"""kNN classification against a naive float64 reference, across chunk sizes and edge cases."""

from __future__ import annotations

import numpy as np
import pytest
import torch

from selfsup.eval.features import Features
from selfsup.eval.knn import (
    knn_accuracy,
    knn_class_ranking,
    knn_evaluate,
    knn_neighbors,
    knn_predict,
)


def reference_votes(bank, labels, queries, k, temperature, num_classes):
    """Full similarity matrix and an explicit per-query weighted vote, in float64."""
    b = torch.nn.functional.normalize(bank.double(), dim=1)
    q = torch.nn.functional.normalize(queries.double(), dim=1)
    sim = q @ b.T
    k = min(k, len(bank))
    votes = torch.zeros(len(q), num_classes, dtype=torch.float64)
    neighbours = []
    for i in range(len(q)):
        order = sim[i].argsort(descending=True)[:k]
        neighbours.append(sorted(order.tolist()))
        votes[i].index_add_(0, labels[order], torch.exp(sim[i, order] / temperature))
    return votes, neighbours


def random_problem(seed, n=240, q=70, d=16, classes=6):
    g = torch.Generator().manual_seed(seed)
    bank = torch.randn(n, d, generator=g)
    labels = torch.randint(0, classes, (n,), generator=g)
    queries = torch.randn(q, d, generator=g)
    return bank, labels, queries, classes


@pytest.mark.parametrize("k", [1, 5, 20, 200])
@pytest.mark.parametrize("temperature", [0.01, 0.07, 0.5])
def test_predictions_match_naive_reference(k, temperature):
    bank, labels, queries, classes = random_problem(seed=k)
    votes, _ = reference_votes(bank, labels, queries, k, temperature, classes)
    expected = votes.argmax(dim=1)
    for chunk, bank_chunk in [(len(queries), len(bank)), (16, 50), (7, 3)]:
        pred = knn_predict(
            bank, labels, queries, k, temperature, chunk_size=chunk, bank_chunk_size=bank_chunk
        )
        assert torch.equal(pred, expected), (chunk, bank_chunk)


@pytest.mark.parametrize("k", [1, 9, 40])
def test_neighbours_identical_for_any_chunking(k):
    bank, labels, queries, _ = random_problem(seed=100 + k)
    _, expected = reference_votes(bank, labels, queries, k, 0.1, 6)
    results = [
        knn_neighbors(bank, queries, k, chunk_size=c, bank_chunk_size=b)
        for c, b in [(len(queries), len(bank)), (16, 50), (5, 7)]
    ]
    for sims, idx in results:
        assert [sorted(row) for row in idx.tolist()] == expected
        assert torch.equal(idx, results[0][1])
        # Returned similarities are the cosines of the returned indices, best first.
        cos = torch.nn.functional.cosine_similarity(queries[:, None], bank[idx], dim=2)
        torch.testing.assert_close(sims, cos, atol=1e-5, rtol=0)
        assert bool((sims[:, 1:] <= sims[:, :-1]).all())


def test_separated_clusters_are_classified_perfectly():
    g = torch.Generator().manual_seed(0)
    centers = 10 * torch.randn(5, 32, generator=g)
    bank_labels = torch.arange(5).repeat_interleave(40)
    query_labels = torch.arange(5).repeat_interleave(10)
    bank = centers[bank_labels] + torch.randn(200, 32, generator=g)
    queries = centers[query_labels] + torch.randn(50, 32, generator=g)
    acc = knn_accuracy(bank, bank_labels, queries, query_labels, k=20, chunk_size=8)
    assert acc == 1.0


def test_k_larger_than_bank_is_clamped():
    bank, labels, queries, classes = random_problem(seed=3, n=10)
    _, idx = knn_neighbors(bank, queries, k=50)
    assert idx.shape == (len(queries), 10)
    assert [sorted(row) for row in idx.tolist()] == [list(range(10))] * len(queries)
    votes, _ = reference_votes(bank, labels, queries, 10, 0.1, classes)
    assert torch.equal(knn_predict(bank, labels, queries, k=50), votes.argmax(dim=1))


def test_top5_and_top1_match_reference_ranking():
    bank, labels, queries, classes = random_problem(seed=11, classes=8)
    query_labels = torch.randint(0, classes, (len(queries),), generator=torch.Generator())
    votes, _ = reference_votes(bank, labels, queries, 30, 0.1, classes)
    ranking = votes.argsort(dim=1, descending=True, stable=True)[:, :5]
    result = knn_evaluate(
        Features(bank, labels), Features(queries, query_labels), k=30, chunk_size=9
    )
    assert result.top1 == pytest.approx((ranking[:, 0] == query_labels).double().mean().item())
    expected_top5 = (ranking == query_labels[:, None]).any(dim=1).double().mean().item()
    assert result.top5 == pytest.approx(expected_top5)
    assert torch.equal(knn_class_ranking(bank, labels, queries, 30, top=5), ranking)


def test_top5_absent_with_fewer_than_five_classes():
    bank, labels, queries, _ = random_problem(seed=5, classes=3)
    result = knn_evaluate(Features(bank, labels), Features(queries, labels[: len(queries)]))
    assert result.top5 is None


def test_unlabelled_bank_is_rejected():
    bank, labels, queries, _ = random_problem(seed=1)
    labels[3] = -1
    with pytest.raises(ValueError, match="labelled bank"):
        knn_predict(bank, labels, queries)


@pytest.mark.parametrize(
    ("kwargs", "message"),
    [({"k": 0}, "k must be"), ({"temperature": 0.0}, "temperature"), ({"num_classes": 3}, "range")],
)
def test_bad_arguments_raise_clear_errors(kwargs, message):
    bank, labels, queries, _ = random_problem(seed=2)
    with pytest.raises(ValueError, match=message):
        knn_predict(bank, labels, queries, **kwargs)


def test_dimension_mismatch_and_nan_are_rejected():
    bank, labels, queries, _ = random_problem(seed=4)
    with pytest.raises(ValueError, match="D="):
        knn_predict(bank, labels, queries[:, :5])
    bank[0, 0] = float("nan")
    with pytest.raises(ValueError, match="NaN"):
        knn_predict(bank, labels, queries)


def test_tiny_temperature_does_not_overflow():
    # exp(1 / 0.005) overflows float32; the vote must still follow the nearest neighbour.
    bank, labels, _, classes = random_problem(seed=8, d=4)
    queries = bank[:40] + 1e-3 * torch.randn(40, 4, generator=torch.Generator().manual_seed(0))
    votes, _ = reference_votes(bank, labels, queries, 10, 0.005, classes)
    pred = knn_predict(bank, labels, queries, k=10, temperature=0.005)
    assert torch.equal(pred, votes.argmax(dim=1))
    assert torch.equal(pred, labels[:40])


def test_neighbours_match_sklearn_brute_cosine():
    from sklearn.neighbors import NearestNeighbors

    g = torch.Generator().manual_seed(7)
    bank, queries = torch.randn(3000, 64, generator=g), torch.randn(200, 64, generator=g)
    _, ours = knn_neighbors(bank, queries, 10, chunk_size=64, bank_chunk_size=1000)
    nn = NearestNeighbors(n_neighbors=10, metric="cosine", algorithm="brute").fit(bank.numpy())
    theirs = nn.kneighbors(queries.numpy(), return_distance=False)
    # Sets, not order: float32 rounding may swap two neighbours with equal similarity.
    assert (ours.sort(dim=1).values.numpy() == np.sort(theirs, axis=1)).all()

"""faiss indexes against the exact torch search: flat is the same, IVF recalls nearly all."""

from __future__ import annotations

import pytest
import torch

from selfsup.eval.features import Features
from selfsup.eval.knn import knn_evaluate, knn_neighbors, knn_predict
from selfsup.eval.neighbour_index import IndexOptions, create_index
from selfsup.eval.retrieval import retrieval_metrics

pytest.importorskip("faiss", reason="faiss-cpu (the faiss extra) is not installed")


def clustered(n: int, q: int, d: int = 32, clusters: int = 200, seed: int = 0):
    """Gaussian blobs: bank, bank labels, queries, query labels."""
    g = torch.Generator().manual_seed(seed)
    centers = 3 * torch.randn(clusters, d, generator=g)
    lb = torch.randint(0, clusters, (n,), generator=g)
    lq = torch.randint(0, clusters, (q,), generator=g)
    bank = centers[lb] + torch.randn(n, d, generator=g)
    return bank, lb, centers[lq] + torch.randn(q, d, generator=g), lq


def overlap(a: torch.Tensor, b: torch.Tensor) -> float:
    """Mean fraction of each row of ``b`` found in the same row of ``a``."""
    found = sum(len(set(x) & set(y)) for x, y in zip(a.tolist(), b.tolist(), strict=True))
    return found / b.numel()


def test_flat_gives_the_exact_neighbours_and_accuracy() -> None:
    g = torch.Generator().manual_seed(1)
    bank, queries = torch.randn(4000, 48, generator=g), torch.randn(300, 48, generator=g)
    labels = torch.randint(0, 7, (4000,), generator=g)
    sims, idx = knn_neighbors(bank, queries, 20, index="faiss-flat")
    ref_sims, ref_idx = knn_neighbors(bank, queries, 20)
    # Sets, not order: float32 rounding may swap two neighbours of equal similarity.
    assert torch.equal(idx.sort(dim=1).values, ref_idx.sort(dim=1).values)
    torch.testing.assert_close(sims, ref_sims, atol=1e-5, rtol=0)
    exact = knn_predict(bank, labels, queries, k=20)
    assert torch.equal(knn_predict(bank, labels, queries, k=20, index="faiss-flat"), exact)


def test_ivf_recall_at_10_against_exact_on_clustered_data() -> None:
    bank, _, queries, _ = clustered(20_000, 500)
    _, exact = knn_neighbors(bank, queries, 10)
    _, ivf = knn_neighbors(bank, queries, 10, index=IndexOptions("faiss-ivf", nprobe=8))
    assert overlap(ivf, exact) > 0.95
    _, one_list = knn_neighbors(bank, queries, 10, index=IndexOptions("faiss-ivf", nprobe=1))
    assert overlap(one_list, exact) < overlap(ivf, exact)  # nprobe is honoured
    _, every = knn_neighbors(bank, queries, 10, index=IndexOptions("faiss-ivf", nprobe=10**6))
    assert overlap(every, exact) > 0.999  # all lists probed: exact again


def test_ivf_is_trained_with_4_sqrt_n_lists_and_fills_in_chunks() -> None:
    bank, _, queries, _ = clustered(10_000, 50)
    index = create_index("faiss-ivf", 32, len(bank), IndexOptions("faiss-ivf", nprobe=4))
    assert index.describe() == "faiss-ivf (nlist 250, nprobe 4)"  # 4 * sqrt(10_000) = 400 > N/40
    index.train(bank)
    for part in bank.split(3000):
        index.add(part)
    assert len(index) == len(bank)
    _, idx = index.search(queries, 10)
    exact = knn_neighbors(bank, queries, 10)[1]
    assert overlap(idx, exact) > 0.9
    index.nprobe = 10**6  # clamped to every list: exact
    assert index.nprobe == 250 and overlap(index.search(queries, 10)[1], exact) > 0.999


def test_unfound_slots_are_marked_and_do_not_vote() -> None:
    bank, labels, queries, _ = clustered(2000, 30)
    options = IndexOptions("faiss-ivf", nprobe=1)
    sims, idx = knn_neighbors(bank, queries, 2000, index=options)
    missing = idx < 0
    assert missing.any() and bool(torch.isinf(sims[missing]).all())
    pred = knn_predict(bank, labels, queries, k=2000, index=options)
    assert pred.shape == (30,) and bool((pred >= 0).all())


def test_knn_evaluate_reports_the_index_and_matches_exact() -> None:
    bank, lb, queries, lq = clustered(3000, 200, seed=3)
    train, test = Features(bank, lb), Features(queries, lq)
    exact = knn_evaluate(train, test, k=20)
    flat = knn_evaluate(train, test, k=20, index="faiss-flat")
    assert (flat.top1, flat.top5) == (exact.top1, exact.top5)
    assert (exact.index, flat.index) == ("exact", "faiss-flat")


@pytest.mark.parametrize("leave_one_out", [False, True])
def test_retrieval_with_flat_matches_exact(leave_one_out: bool) -> None:
    g = torch.Generator().manual_seed(5)
    q = Features(torch.randn(150, 16, generator=g), torch.randint(0, 5, (150,), generator=g))
    gallery = (
        None
        if leave_one_out
        else Features(torch.randn(900, 16, generator=g), torch.randint(0, 5, (900,), generator=g))
    )
    exact = retrieval_metrics(q, gallery, ks=(1, 5, 20), map_depth=30)
    flat = retrieval_metrics(q, gallery, ks=(1, 5, 20), map_depth=30, index="faiss-flat")
    assert flat.recall == pytest.approx(exact.recall)
    assert flat.mean_ap_at == pytest.approx(exact.mean_ap_at, rel=1e-5)
    assert flat.mean_ap is None and exact.mean_ap is not None
    assert flat.as_dict()["index"] == "faiss-flat" and "map" not in flat.as_dict()


def test_retrieval_with_ivf_is_close_to_exact_on_clusters() -> None:
    bank, lb, queries, lq = clustered(8000, 300, clusters=10, seed=2)
    q, g = Features(queries, lq), Features(bank, lb)
    exact = retrieval_metrics(q, g, map_depth=50)
    ivf = retrieval_metrics(q, g, map_depth=50, index=IndexOptions("faiss-ivf", nprobe=8))
    assert ivf.index.startswith("faiss-ivf")
    assert abs(ivf.recall[10] - exact.recall[10]) < 0.02
    assert abs(ivf.mean_ap_at - exact.mean_ap_at) < 0.02

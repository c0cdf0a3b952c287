"""Retrieval recall@k and mAP against a brute-force per-query reference."""

from __future__ import annotations

import pytest
import torch

from selfsup.eval.features import Features
from selfsup.eval.retrieval import retrieval_metrics


def reference(
    q: Features, g: Features, ks: tuple[int, ...], loo: bool, depth: int = 10**9
) -> tuple[dict, float]:
    """Per query: rank the gallery by cosine with plain Python sorting, then count. With a
    ``depth``, AP sums precision over relevant ranks <= depth, over min(depth, #relevant)."""
    recall = {k: 0 for k in ks}
    aps = []
    for i in range(len(q)):
        sims = []
        for j in range(len(g)):
            if loo and i == j:
                continue
            a, b = q.features[i], g.features[j]
            sims.append((-(float(a @ b) / float(a.norm() * b.norm())), j))
        ranked = [int(g.labels[j]) == int(q.labels[i]) for _, j in sorted(sims)]
        if not any(ranked):
            continue
        for k in ks:
            recall[k] += any(ranked[:k])
        hits, precisions = 0, []
        for pos, rel in enumerate(ranked, start=1):
            if rel:
                hits += 1
                precisions.append(hits / pos if pos <= depth else 0.0)
        aps.append(sum(precisions) / min(depth, hits))
    return {k: v / len(aps) for k, v in recall.items()}, sum(aps) / len(aps)


def random_set(n: int, seed: int, classes: int = 4) -> Features:
    gen = torch.Generator().manual_seed(seed)
    return Features(
        torch.randn(n, 6, generator=gen), torch.randint(0, classes, (n,), generator=gen)
    )


@pytest.mark.parametrize("chunk", [1, 7, 1000])
def test_queries_vs_gallery_match_brute_force(chunk: int) -> None:
    q, g = random_set(23, 0), random_set(40, 1)
    r = retrieval_metrics(q, g, ks=(1, 5, 10), chunk_size=chunk)
    recall, mean_ap = reference(q, g, (1, 5, 10), loo=False)
    assert r.recall == pytest.approx(recall)
    assert r.mean_ap == pytest.approx(mean_ap, rel=1e-5)
    assert r.num_queries == 23 and r.skipped_queries == 0


def test_leave_one_out_never_retrieves_itself() -> None:
    s = random_set(30, 2, classes=3)
    r = retrieval_metrics(s, ks=(1, 5), chunk_size=8)
    recall, mean_ap = reference(s, s, (1, 5), loo=True)
    assert r.recall == pytest.approx(recall)
    assert r.mean_ap == pytest.approx(mean_ap, rel=1e-5)
    assert r.recall[1] < 1.0  # retrieving yourself would make every recall@1 perfect


def test_queries_without_relevant_items_are_skipped_and_counted() -> None:
    g = Features(torch.randn(10, 4), torch.zeros(10, dtype=torch.long))
    q = Features(torch.randn(3, 4), torch.tensor([0, 1, 0]))
    r = retrieval_metrics(q, g)
    assert r.skipped_queries == 1 and r.num_queries == 2
    assert r.recall[1] == 1.0 and r.mean_ap == 1.0  # every gallery item is relevant
    with pytest.raises(ValueError, match="no query has a relevant"):
        retrieval_metrics(Features(torch.randn(2, 4), torch.tensor([5, 5])), g)


@pytest.mark.parametrize("loo", [False, True])
def test_truncated_map_matches_brute_force(loo: bool) -> None:
    q, g = random_set(25, 3), random_set(60, 4)
    r = retrieval_metrics(q, None if loo else g, ks=(1, 3), map_depth=7, chunk_size=4)
    _, map_at_7 = reference(q, q if loo else g, (1, 3), loo=loo, depth=7)
    assert r.map_depth == 7 and r.mean_ap_at == pytest.approx(map_at_7, rel=1e-5)
    assert r.as_dict()["map@7"] == r.mean_ap_at and r.as_dict()["index"] == "exact"
    deep = retrieval_metrics(q, None if loo else g, map_depth=1000)
    assert deep.map_depth == len(g if not loo else q) - loo  # clamped to the gallery
    assert deep.mean_ap_at == pytest.approx(deep.mean_ap)  # the whole ranking: full mAP

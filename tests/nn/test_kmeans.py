"""KMeans: assignment, falling inertia, blob recovery, chunked data, re-seeding, backends."""

from __future__ import annotations

import importlib.util
from collections.abc import Iterator

import pytest
import torch

from selfsup.nn.kmeans import KMeans, kmeans_plus_plus, squared_distances
from selfsup.registry import ConfigError

CENTRES = torch.tensor(
    [[0.0, 0.0, 0.0], [10.0, 0.0, 0.0], [0.0, 10.0, 0.0], [0.0, 0.0, 10.0], [10.0, 10.0, 10.0]]
)


def blobs(per_blob: int = 200, seed: int = 0) -> tuple[torch.Tensor, torch.Tensor]:
    gen = torch.Generator().manual_seed(seed)
    truth = torch.arange(len(CENTRES)).repeat_interleave(per_blob)
    points = CENTRES[truth] + 0.5 * torch.randn(len(truth), 3, generator=gen)
    order = torch.randperm(len(truth), generator=gen)
    return points[order], truth[order]


def test_squared_distances_match_cdist() -> None:
    x, c = torch.randn(50, 7), torch.randn(6, 7)
    torch.testing.assert_close(squared_distances(x, c), torch.cdist(x, c).pow(2), atol=1e-4, rtol=0)


def test_recovers_well_separated_blobs_and_assigns_every_frame() -> None:
    points, truth = blobs()
    model = KMeans(5, iterations=20, seed=0, chunk_size=128).fit(points)
    labels = model.assign(points)
    assert labels.dtype == torch.int64 and labels.shape == (len(points),)
    assert int(labels.min()) >= 0 and int(labels.max()) < 5
    # one cluster per blob: the labels are a relabelling of the truth
    pairs = set(zip(truth.tolist(), labels.tolist(), strict=True))
    assert len(pairs) == 5 and len({lab for _, lab in pairs}) == 5
    assert model.centroids is not None
    nearest = squared_distances(CENTRES, model.centroids).min(1).values
    assert float(nearest.max()) < 0.1


def test_inertia_never_rises_across_lloyd_iterations() -> None:
    points = torch.randn(3000, 6, generator=torch.Generator().manual_seed(1))
    seen: list[tuple[int, float]] = []
    model = KMeans(40, iterations=15, tol=0.0, seed=1, chunk_size=500)
    model.on_iteration = lambda i, inertia: seen.append((i, inertia))
    model.fit(points)
    assert [i for i, _ in seen] == list(range(len(model.history)))
    assert len(model.history) >= 5
    for before, after in zip(model.history, model.history[1:], strict=False):
        assert after <= before * (1 + 1e-9)
    assert model.history[-1] < 0.9 * model.history[0]
    assert model.inertia(points) <= model.history[-1] * (1 + 1e-9)


def test_an_iterator_of_chunks_fits_like_the_tensor() -> None:
    points, _ = blobs(seed=2)
    init = points[:5].clone()

    def chunks() -> Iterator[torch.Tensor]:  # uneven chunks, a fresh iterator per pass
        yield from points.split(333)

    a = KMeans(5, iterations=4, tol=0.0, chunk_size=100).fit(points, init=init)
    b = KMeans(5, iterations=4, tol=0.0, chunk_size=64).fit(chunks, init=init)
    assert a.centroids is not None and b.centroids is not None
    torch.testing.assert_close(a.centroids, b.centroids)
    assert a.history == pytest.approx(b.history)


def test_empty_clusters_restart_on_the_farthest_point() -> None:
    points, _ = blobs(seed=3)
    init = torch.cat([CENTRES[:4], torch.tensor([[1e4, 1e4, 1e4]])])  # cluster 4: no points
    model = KMeans(5, iterations=1, tol=0.0).fit(points, init=init)
    assert model.centroids is not None
    far = squared_distances(points, CENTRES[:4]).min(1).values.argmax()
    torch.testing.assert_close(model.centroids[4], points[far])
    # after more passes the lost blob has its own cluster again
    model = KMeans(5, iterations=10, tol=0.0).fit(points, init=init)
    assert torch.bincount(model.assign(points), minlength=5).min() > 150


def test_seeding_is_reproducible_and_spreads_out() -> None:
    points, _ = blobs(seed=4)
    a = kmeans_plus_plus(points, 5, torch.Generator().manual_seed(0))
    b = kmeans_plus_plus(points, 5, torch.Generator().manual_seed(0))
    assert torch.equal(a, b)
    # D^2 sampling puts one seed in each of 5 far-apart blobs (almost surely)
    assert len(set(squared_distances(a, CENTRES).argmin(1).tolist())) == 5
    with pytest.raises(ValueError, match="at least"):
        kmeans_plus_plus(points[:3], 5, torch.Generator())


def test_minibatch_recovers_blobs() -> None:
    points, truth = blobs(seed=5)
    model = KMeans(5, seed=0, chunk_size=100).fit_minibatch(points, passes=3)
    labels = model.assign(points)
    assert len(set(zip(truth.tolist(), labels.tolist(), strict=True))) == 5
    assert len(model.history) == 3


@pytest.mark.skipif(importlib.util.find_spec("faiss") is None, reason="faiss not installed")
def test_faiss_backend_has_the_same_api() -> None:
    points, truth = blobs(seed=6)
    seen: list[int] = []
    model = KMeans(5, iterations=10, backend="faiss", on_iteration=lambda i, _: seen.append(i))
    model.fit(points)
    labels = model.assign(points)
    assert labels.dtype == torch.int64
    assert len(set(zip(truth.tolist(), labels.tolist(), strict=True))) == 5
    assert seen == list(range(len(model.history))) and 1 <= len(seen) <= 10  # faiss may stop early


def test_bad_arguments_are_one_clear_line() -> None:
    with pytest.raises(ConfigError, match="backend"):
        KMeans(5, backend="sklearn")
    with pytest.raises(ValueError, match="before fit"):
        KMeans(5).assign(torch.randn(3, 2))
    model = KMeans.from_centroids(torch.randn(4, 3))
    with pytest.raises(ValueError, match=r"\[m, 3\]"):
        model.assign(torch.randn(5, 2))

"""Batched k-means on the training device, for HuBERT's frame targets (and any other use).

The data is a tensor ``[M, D]`` or a function returning a fresh iterable of ``[m, D]`` chunks
(one call per pass), so a million MFCC frames never need one big distance matrix: distances
are computed ``chunk_size`` rows at a time. Under ``torch.distributed`` every rank passes its
own frames; sums, counts, inertia, the k-means++ sample and the re-seeding candidates are
reduced over ranks, so all ranks end with the same centroids, those of the joined data.

``backend="faiss"`` hands the fit to faiss (when installed; one process, all chunks joined in
memory) and keeps the same API; :meth:`KMeans.assign` always runs in torch.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable, Iterator

import torch
import torch.distributed as dist

from selfsup.nn.gather import gather_nograd, rank, world_size
from selfsup.registry import ConfigError

Data = torch.Tensor | Callable[[], Iterable[torch.Tensor]]
"""A ``[M, D]`` tensor, or a function returning an iterable of ``[m, D]`` chunks (per pass)."""


def squared_distances(x: torch.Tensor, centroids: torch.Tensor) -> torch.Tensor:
    """``[n, K]``: squared Euclidean distance of each row of ``x [n, D]`` to each centroid."""
    # ||x||^2 - 2 x.c + ||c||^2 in one matmul; rounding can dip below 0, hence the clamp.
    d = torch.addmm(centroids.pow(2).sum(1)[None], x, centroids.T, alpha=-2.0)
    return (d + x.pow(2).sum(1, keepdim=True)).clamp_(min=0.0)


def nearest_centroids(
    x: torch.Tensor, centroids: torch.Tensor
) -> tuple[torch.Tensor, torch.Tensor]:
    """``(squared distance [n], index [n])`` of each row's nearest centroid."""
    # ||x||^2 does not change which centroid is nearest: add it to the n minima only, not to
    # all n * K distances.
    partial = torch.addmm(centroids.pow(2).sum(1)[None], x, centroids.T, alpha=-2.0)
    values, labels = partial.min(1)
    return (values + x.pow(2).sum(1)).clamp_(min=0.0), labels


def kmeans_plus_plus(x: torch.Tensor, k: int, generator: torch.Generator) -> torch.Tensor:
    """``k`` centroids from the rows of ``x [n, D]`` by D^2 sampling (Arthur & Vassilvitskii
    2007); ``generator`` on the CPU so every device draws the same rows."""
    if len(x) < k:
        raise ValueError(f"k-means needs at least {k} points to seed {k} clusters, got {len(x)}")
    norms = x.pow(2).sum(1)  # [n], once: each round then costs one matrix-vector product

    def to(i: int) -> torch.Tensor:
        return (norms - 2 * (x @ x[i]) + norms[i]).clamp(min=0.0)

    first = int(torch.randint(len(x), (1,), generator=generator))
    chosen = [first]
    nearest = to(first)  # [n]
    for _ in range(k - 1):
        weights = nearest.double().cpu()
        if float(weights.sum()) <= 0:  # fewer distinct points than k: any unused row
            weights = torch.ones(len(x), dtype=torch.float64)
            weights[chosen] = 0.0
        pick = int(torch.multinomial(weights, 1, generator=generator))
        chosen.append(pick)
        nearest = torch.minimum(nearest, to(pick))
    return x[chosen].clone()


class KMeans:
    """k-means with k-means++ seeding and Lloyd iterations (or mini-batch updates).

    Args:
        num_clusters: K.
        iterations: Lloyd passes at most (``fit``).
        tol: stop when a pass lowers the inertia by less than this fraction.
        seed: seeds the k-means++ sample and draws (the same on every rank).
        chunk_size: rows per distance computation.
        init_sample: points k-means++ seeds from, drawn uniformly from the data (default
            ``256 * K``).
        backend: ``"torch"`` or ``"faiss"``.
        device: where the computation runs (default: that of the first chunk).
        on_iteration: called with ``(iteration, inertia)`` after each pass.

    After :meth:`fit`, ``centroids`` is ``[K, D]`` float32 and ``history`` the inertia of each
    pass (the sum of squared distances of the points to the centroids they were assigned to).
    """

    def __init__(
        self,
        num_clusters: int,
        iterations: int = 20,
        tol: float = 1e-4,
        seed: int = 0,
        chunk_size: int = 32768,
        init_sample: int | None = None,
        backend: str = "torch",
        device: torch.device | str | None = None,
        on_iteration: Callable[[int, float], None] | None = None,
    ) -> None:
        if num_clusters < 1 or iterations < 0 or chunk_size < 1:
            raise ValueError(
                f"KMeans needs num_clusters >= 1, iterations >= 0, chunk_size >= 1, got "
                f"{num_clusters}, {iterations}, {chunk_size}"
            )
        if backend not in ("torch", "faiss"):
            raise ConfigError(f"unknown k-means backend '{backend}' (torch or faiss)")
        self.num_clusters, self.iterations, self.tol = num_clusters, iterations, tol
        self.seed, self.chunk_size, self.backend = seed, chunk_size, backend
        self.init_sample = init_sample or 256 * num_clusters
        self.device = torch.device(device) if device is not None else None
        self.on_iteration = on_iteration
        self.centroids: torch.Tensor | None = None
        self.history: list[float] = []

    @classmethod
    def from_centroids(cls, centroids: torch.Tensor, chunk_size: int = 32768) -> KMeans:
        """A fitted KMeans from saved centroids ``[K, D]`` (to :meth:`assign` with)."""
        model = cls(int(centroids.shape[0]), chunk_size=chunk_size, device=centroids.device)
        model.centroids = centroids.float()
        return model

    # --- data ---------------------------------------------------------------------------

    def _chunks(self, data: Data) -> Iterator[torch.Tensor]:
        source: Iterable[torch.Tensor] = [data] if isinstance(data, torch.Tensor) else data()
        for chunk in source:
            if chunk.dim() != 2:
                raise ValueError(f"k-means chunks must be [m, D], got {tuple(chunk.shape)}")
            if self.device is None:
                self.device = chunk.device
            for part in chunk.split(self.chunk_size):
                yield part.to(self.device, torch.float32)

    # --- fitting ------------------------------------------------------------------------

    def fit(self, data: Data, init: torch.Tensor | None = None) -> KMeans:
        """Seed (k-means++ unless ``init [K, D]`` is given), then run Lloyd passes."""
        if self.backend == "faiss":
            return self._fit_faiss(data, init)
        centroids = self._seed(data) if init is None else init.to(self.device or init.device)
        centroids = centroids.float().clone()
        self.history = []
        for iteration in range(self.iterations):
            sums, counts, inertia, far_d, far_x = self._pass(data, centroids)
            centroids = self._update(centroids, sums, counts, far_d, far_x)
            self._report(iteration, inertia)
            if len(self.history) > 1 and self.history[-2] - inertia <= self.tol * self.history[-2]:
                break
        self.centroids = centroids
        return self

    def fit_minibatch(
        self, data: Data, passes: int = 1, init: torch.Tensor | None = None
    ) -> KMeans:
        """Mini-batch k-means (Sculley 2010): each chunk moves the centroids it hits towards its
        points with step ``1 / (points seen by that centroid)``. Under DDP every rank must
        yield the same number of chunks per pass."""
        centroids = self._seed(data) if init is None else init.to(self.device or init.device)
        centroids = centroids.float().clone()
        seen = torch.zeros(self.num_clusters, dtype=torch.float64, device=centroids.device)
        self.history = []
        for iteration in range(passes):
            inertia = 0.0
            for chunk in self._chunks(data):
                dist2, labels = nearest_centroids(chunk, centroids)
                sums, counts, part = self._accumulate(chunk, labels, dist2)
                sums, counts, part = self._reduce(sums, counts, part)
                inertia += part
                seen += counts
                hit = counts > 0
                step = (counts[hit] / seen[hit])[:, None]
                mean = sums[hit] / counts[hit][:, None]
                centroids[hit] = (centroids[hit] + step * (mean - centroids[hit])).float()
            self._report(iteration, inertia)
        self.centroids = centroids
        return self

    def _report(self, iteration: int, inertia: float) -> None:
        self.history.append(inertia)
        if self.on_iteration is not None:
            self.on_iteration(iteration, inertia)

    def _seed(self, data: Data) -> torch.Tensor:
        """k-means++ on a uniform sample of every rank's points (reservoir by random keys)."""
        keys_gen = torch.Generator().manual_seed(self.seed * 1_000_003 + rank())
        size = self.init_sample
        keys = torch.empty(0)
        sample: torch.Tensor | None = None
        for chunk in self._chunks(data):
            chunk_keys = torch.rand(len(chunk), generator=keys_gen)
            both = chunk if sample is None else torch.cat([sample, chunk])
            keys = torch.cat([keys, chunk_keys])
            keep = keys.argsort()[:size]  # the smallest keys: a uniform sample of the stream
            keys, sample = keys[keep], both[keep.to(both.device)]
        if sample is None:
            raise ValueError("k-means got no data")
        if world_size() > 1:  # the same global sample on every rank
            pad = size - len(sample)
            keys = torch.cat([keys, torch.full((pad,), 2.0)]).to(sample.device)
            sample = torch.cat([sample, sample.new_zeros(pad, sample.shape[1])])
            keys, sample = gather_nograd(keys), gather_nograd(sample)
            keep = keys.argsort()[:size]
            keep = keep[keys[keep] <= 1.0]  # drop the padding
            sample = sample[keep]
        return kmeans_plus_plus(sample, self.num_clusters, torch.Generator().manual_seed(self.seed))

    def _accumulate(
        self, chunk: torch.Tensor, labels: torch.Tensor, dist2: torch.Tensor
    ) -> tuple[torch.Tensor, torch.Tensor, float]:
        k, dim = self.num_clusters, chunk.shape[1]
        # float32 within a chunk (float64 index_add_ is slower), float64 across chunks.
        sums = torch.zeros(k, dim, device=chunk.device).index_add_(0, labels, chunk)
        counts = torch.bincount(labels, minlength=k).double()
        return sums.double(), counts, float(dist2.double().sum())

    @staticmethod
    def _reduce(
        sums: torch.Tensor, counts: torch.Tensor, inertia: float
    ) -> tuple[torch.Tensor, torch.Tensor, float]:
        if world_size() == 1:
            return sums, counts, inertia
        total = torch.tensor([inertia], dtype=torch.float64, device=sums.device)
        for t in (sums, counts, total):
            dist.all_reduce(t)
        return sums, counts, float(total)

    def _pass(
        self, data: Data, centroids: torch.Tensor
    ) -> tuple[torch.Tensor, torch.Tensor, float, torch.Tensor, torch.Tensor]:
        """One Lloyd pass: per-cluster sums and counts, inertia, and the K points farthest from
        their centroids (candidates to re-seed empty clusters), all over every rank."""
        k, dim = self.num_clusters, centroids.shape[1]
        sums = torch.zeros(k, dim, dtype=torch.float64, device=centroids.device)
        counts = torch.zeros(k, dtype=torch.float64, device=centroids.device)
        inertia = 0.0
        far_d = torch.full((k,), -1.0, device=centroids.device)  # -1: no candidate yet
        far_x = centroids.new_zeros(k, dim)
        for chunk in self._chunks(data):
            dist2, labels = nearest_centroids(chunk, centroids)
            s, c, part = self._accumulate(chunk, labels, dist2)
            sums, counts, inertia = sums + s, counts + c, inertia + part
            worst = dist2.topk(min(k, len(dist2))).indices  # this chunk's candidates first
            both_d, both_x = torch.cat([far_d, dist2[worst]]), torch.cat([far_x, chunk[worst]])
            top = both_d.topk(k).indices
            far_d, far_x = both_d[top], both_x[top]
        sums, counts, inertia = self._reduce(sums, counts, inertia)
        if world_size() > 1:
            both_d, both_x = gather_nograd(far_d), gather_nograd(far_x)
            top = both_d.topk(k).indices
            far_d, far_x = both_d[top], both_x[top]
        return sums, counts, inertia, far_d, far_x

    def _update(
        self,
        centroids: torch.Tensor,
        sums: torch.Tensor,
        counts: torch.Tensor,
        far_d: torch.Tensor,
        far_x: torch.Tensor,
    ) -> torch.Tensor:
        filled = counts > 0
        new = centroids.clone()
        new[filled] = (sums[filled] / counts[filled][:, None]).float()
        empty = (~filled).nonzero().squeeze(1)
        # Empty clusters restart on the points worst served (farthest first): each such point
        # then sits on a centroid of its own, so the next pass's inertia can only fall.
        usable = far_d > 0
        take = min(len(empty), int(usable.sum()))
        new[empty[:take]] = far_x[usable][:take]
        return new

    def _fit_faiss(self, data: Data, init: torch.Tensor | None) -> KMeans:
        try:
            import faiss
        except ImportError as err:
            raise ConfigError(
                "k-means backend 'faiss' needs faiss: pip install faiss-cpu, or use 'torch'"
            ) from err
        if world_size() > 1:
            raise ConfigError("faiss k-means runs in one process: use backend 'torch' under DDP")
        points = torch.cat([c.cpu() for c in self._chunks(data)]).numpy()
        # faiss trains on at most 256 points per centroid unless told otherwise: fit them all,
        # as the torch backend does.
        per_centroid = -(-len(points) // self.num_clusters)
        model = faiss.Kmeans(
            points.shape[1],
            self.num_clusters,
            niter=self.iterations,
            seed=self.seed,
            max_points_per_centroid=max(per_centroid, 256),
        )
        init_np = None if init is None else init.detach().float().cpu().numpy()
        model.train(points, init_centroids=init_np)
        objective, centroids = model.obj, model.centroids
        if objective is None or centroids is None:
            raise RuntimeError("faiss k-means returned no centroids")
        self.history = [float(v) for v in objective]
        for iteration, inertia in enumerate(self.history):
            if self.on_iteration is not None:
                self.on_iteration(iteration, inertia)
        self.centroids = torch.from_numpy(centroids.copy()).to(self.device)
        return self

    # --- using the fit ------------------------------------------------------------------

    @torch.no_grad()
    def assign(self, x: torch.Tensor) -> torch.Tensor:
        """int64 ``[m]``: the nearest centroid of each row of ``x [m, D]``."""
        if self.centroids is None:
            raise ValueError("KMeans.assign before fit: fit it or use KMeans.from_centroids")
        if x.dim() != 2 or x.shape[1] != self.centroids.shape[1]:
            raise ValueError(
                f"expected points [m, {self.centroids.shape[1]}], got {tuple(x.shape)}"
            )
        c = self.centroids
        parts = [
            nearest_centroids(part.to(c.device, torch.float32), c)[1]
            for part in x.split(self.chunk_size)
        ]
        labels = torch.cat(parts) if parts else torch.empty(0, dtype=torch.long)
        return labels.to(x.device)

    @torch.no_grad()
    def inertia(self, data: Data) -> float:
        """Sum of squared distances of the data to their nearest centroids (over all ranks)."""
        if self.centroids is None:
            raise ValueError("KMeans.inertia before fit")
        total = sum(
            float(nearest_centroids(chunk, self.centroids)[0].double().sum())
            for chunk in self._chunks(data)
        )
        if world_size() > 1:
            t = torch.tensor([total], dtype=torch.float64, device=self.centroids.device)
            dist.all_reduce(t)
            total = float(t)
        return total

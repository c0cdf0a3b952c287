"""faiss-backed neighbour indexes: exact ``IndexFlatIP`` and approximate ``IndexIVFFlat``.

Vectors are L2-normalised float32 on the way in, so inner product is cosine similarity. Both
add and search run ``ROWS_PER_CALL`` rows at a time: the only memory beyond the index's own
``N × D`` floats is one normalised chunk.
"""

from __future__ import annotations

import math
from typing import Any

import numpy as np
import torch

from selfsup.eval.exact_search import unit_rows
from selfsup.eval.neighbour_index import NeighbourIndex, check_k, import_faiss

ROWS_PER_CALL = 65536
TRAIN_POINTS_PER_LIST = 40  # faiss's k-means warns below 39 points per centroid


def default_nlist(size: int) -> int:
    """``4·√N`` lists, but no more than ``N / 40`` so each list's centroid has data to fit."""
    return max(1, min(round(4 * math.sqrt(size)), size // TRAIN_POINTS_PER_LIST))


class _FaissIndex(NeighbourIndex):
    """Shared add / search over a faiss index held in ``self._index``."""

    _index: Any

    def add(self, vectors: torch.Tensor) -> None:
        """Normalise and append ``vectors`` chunk by chunk."""
        self._check_dim(vectors, "vectors")
        for r0 in range(0, len(vectors), ROWS_PER_CALL):
            self._index.add(_as_faiss(vectors[r0 : r0 + ROWS_PER_CALL], "bank"))

    def search(self, queries: torch.Tensor, k: int) -> tuple[torch.Tensor, torch.Tensor]:
        """Top-k by inner product of normalised vectors; unfound slots are -1 / -inf."""
        self._check_dim(queries, "queries")
        k = check_k(k, len(self))
        sims = torch.empty(len(queries), k, dtype=torch.float32)
        idx = torch.empty(len(queries), k, dtype=torch.long)
        for q0 in range(0, len(queries), ROWS_PER_CALL):
            d, i = self._index.search(_as_faiss(queries[q0 : q0 + ROWS_PER_CALL], "query"), k)
            sims[q0 : q0 + len(d)] = torch.from_numpy(d)
            idx[q0 : q0 + len(i)] = torch.from_numpy(i)
        sims[idx < 0] = -torch.inf
        return sims, idx

    def __len__(self) -> int:
        return int(self._index.ntotal)


class FaissFlatIndex(_FaissIndex):
    """faiss ``IndexFlatIP``: exact search with faiss's blocked BLAS kernels."""

    kind = "faiss-flat"

    def __init__(self, dim: int) -> None:
        super().__init__(dim)
        self._index = import_faiss(self.kind).IndexFlatIP(dim)


class FaissIVFIndex(_FaissIndex):
    """faiss ``IndexIVFFlat`` with ``nlist`` spherical k-means lists, ``nprobe`` searched.

    :meth:`train` fits the lists on a seeded random sample of ``40 × nlist`` rows; an untrained
    index trains on the first vectors it is given.
    """

    kind = "faiss-ivf"

    def __init__(self, dim: int, nlist: int, nprobe: int = 32, seed: int = 0) -> None:
        super().__init__(dim)
        faiss = import_faiss(self.kind)
        self.nlist, self.seed = nlist, seed
        self._quantizer = faiss.IndexFlatIP(dim)  # the index uses it; keep it alive
        self._index = faiss.IndexIVFFlat(self._quantizer, dim, nlist, faiss.METRIC_INNER_PRODUCT)
        self._index.cp.spherical = True  # centroids on the unit sphere, like the data
        self._index.cp.seed = seed
        self.nprobe = nprobe

    @property
    def nprobe(self) -> int:
        """Lists searched per query (at most ``nlist``); may change between searches."""
        return int(self._index.nprobe)

    @nprobe.setter
    def nprobe(self, value: int) -> None:
        if value < 1:
            raise ValueError(f"nprobe must be >= 1, got {value}")
        self._index.nprobe = min(value, self.nlist)

    def train(self, sample: torch.Tensor) -> None:
        """k-means on at most ``40 × nlist`` rows of ``sample`` (chosen with ``seed``)."""
        self._check_dim(sample, "training sample")
        if len(sample) < self.nlist:
            raise ValueError(f"faiss-ivf needs at least nlist={self.nlist} training vectors")
        take = min(len(sample), TRAIN_POINTS_PER_LIST * self.nlist)
        if take < len(sample):
            gen = torch.Generator().manual_seed(self.seed)
            pick = torch.randperm(len(sample), generator=gen)[:take].sort().values
            sample = sample[pick]
        self._index.train(_as_faiss(sample, "training"))

    def add(self, vectors: torch.Tensor) -> None:
        """Append ``vectors`` (training on them first if :meth:`train` was not called)."""
        if not self._index.is_trained:
            self.train(vectors)
        super().add(vectors)

    def describe(self) -> str:
        """Kind, list count and lists searched per query."""
        return f"{self.kind} (nlist {self.nlist}, nprobe {self.nprobe})"


def _as_faiss(x: torch.Tensor, what: str) -> np.ndarray:
    """Rows as the C-contiguous, unit-norm float32 CPU array faiss reads."""
    return np.ascontiguousarray(unit_rows(x.detach().cpu(), what).numpy(), dtype=np.float32)

"""Which nearest-neighbour search a kNN or retrieval run uses, and one interface over them.

Kinds (cosine similarity throughout; vectors are L2-normalised on the way in):

- ``exact``: selfsup's torch tiles with a running top-k (``exact_search.py``); exact, memory
  bounded by one tile, runs on the bank's device.
- ``faiss-flat``: faiss ``IndexFlatIP``; exact as well (ties aside), CPU.
- ``faiss-ivf``: faiss ``IndexIVFFlat``, ``nlist ≈ 4·√N`` lists trained by k-means on a sample,
  ``nprobe`` lists searched per query; approximate, much faster on big banks.
- ``faiss``: faiss-flat up to ``flat_max_pairs`` bank × query pairs, faiss-ivf beyond (if
  there are enough queries to repay its training, :func:`ivf_build_queries`).
- ``auto``: exact up to ``exact_max_pairs`` pairs, then as ``faiss``; without faiss installed
  it stays exact and says so in one info line.

faiss is the optional ``faiss`` extra; asking for a faiss kind without it is one
:class:`ConfigError` naming the install command.
"""

from __future__ import annotations

import dataclasses
import logging
from abc import ABC, abstractmethod
from typing import Any

import torch

from selfsup.eval.exact_search import exact_topk
from selfsup.registry import ConfigError

logger = logging.getLogger("selfsup.eval")

INDEX_KINDS = ("exact", "auto", "faiss", "faiss-flat", "faiss-ivf")
# 50,000 x 20,000: ~20 s of exact torch search at D=512 on 2 loaded Zen 3 cores, where faiss's
# flat scan is no faster (BENCHMARKS.md, benchmarks/bench_index.py); results stay bit-identical
# to the exact path for every evaluation set up to that size.
EXACT_MAX_PAIRS = 1_000_000_000
# Beyond this many pairs (and with more queries than ivf_build_queries), IVF's k-means and list
# assignment are repaid by scanning ~nprobe/nlist of the bank per query: at 1M x 10k x 128 it
# already took 33 s against flat's 57 s.
FLAT_MAX_PAIRS = 10_000_000_000
INSTALL_HINT = "pip install selfsup[faiss]"


@dataclasses.dataclass(frozen=True)
class IndexOptions:
    """How to search: ``kind`` (one of :data:`INDEX_KINDS`), IVF's ``nprobe`` and ``nlist``
    (default ``4·√N``, at most ``N / 39`` so k-means has enough points per list), the pair
    thresholds of ``auto`` / ``faiss``, and the seed of IVF's training sample and k-means."""

    kind: str = "exact"
    nprobe: int = 32
    nlist: int | None = None
    exact_max_pairs: int = EXACT_MAX_PAIRS
    flat_max_pairs: int = FLAT_MAX_PAIRS
    seed: int = 0

    def __post_init__(self) -> None:
        if self.kind not in INDEX_KINDS:
            raise ConfigError(
                f"unknown index {self.kind!r}; choose one of {', '.join(INDEX_KINDS)}"
            )
        if self.nprobe < 1:
            raise ConfigError(f"nprobe must be >= 1, got {self.nprobe}")
        if self.nlist is not None and self.nlist < 1:
            raise ConfigError(f"nlist must be >= 1, got {self.nlist}")


def index_options(index: str | IndexOptions) -> IndexOptions:
    """``index`` as :class:`IndexOptions` (a bare kind name gets the default settings)."""
    return index if isinstance(index, IndexOptions) else IndexOptions(kind=index)


def choose_kind(index: str | IndexOptions, bank_size: int, num_queries: int) -> str:
    """The concrete kind (``exact``, ``faiss-flat`` or ``faiss-ivf``) for this search size."""
    options = index_options(index)
    kind, pairs = options.kind, bank_size * num_queries
    if kind == "exact":
        return kind
    if kind == "auto":
        if pairs <= options.exact_max_pairs:
            return "exact"
        if not faiss_installed():
            logger.info(
                "faiss is not installed, so the %d x %d search runs exactly in torch (faster: %s)",
                bank_size,
                num_queries,
                INSTALL_HINT,
            )
            return "exact"
        kind = "faiss"
    else:
        import_faiss(kind)  # asked for by name: say what is missing before any work
    if kind == "faiss":
        ivf_pays = num_queries > ivf_build_queries(bank_size, options.nlist)
        return "faiss-ivf" if pairs > options.flat_max_pairs and ivf_pays else "faiss-flat"
    return kind


def ivf_build_queries(bank_size: int, nlist: int | None = None) -> float:
    """How many flat-scan queries an IVF index's building costs, in multiply-adds.

    faiss trains 10 k-means iterations on 40 points per list (``400·nlist²`` dot products)
    and assigns every vector to a list (``N·nlist``); one flat query is ``N`` dot products.
    With ``nlist = 4·√N`` that is ``6400 + 4·√N`` queries; with fewer, scanning the whole
    bank is cheaper whatever its size. (Measured at 1M x 128 the build took what 5,900 flat
    queries take, so the estimate errs towards flat.)
    """
    if nlist is None:
        from selfsup.eval.faiss_index import default_nlist

        nlist = default_nlist(bank_size)
    return 400 * nlist**2 / max(bank_size, 1) + nlist


class NeighbourIndex(ABC):
    """A bank of vectors searched by cosine similarity; filled by :meth:`add` in any chunks."""

    kind: str

    def __init__(self, dim: int) -> None:
        self.dim = dim

    def train(self, sample: torch.Tensor) -> None:
        """Fit what the index learns from data (IVF's lists); a no-op for flat kinds."""
        del sample

    @abstractmethod
    def add(self, vectors: torch.Tensor) -> None:
        """Append ``[n, dim]`` vectors; their indices continue from :func:`len`."""

    @abstractmethod
    def search(self, queries: torch.Tensor, k: int) -> tuple[torch.Tensor, torch.Tensor]:
        """``(sims [Q, k'], indices [Q, k'])`` best first, ``k' = min(k, len(self))``.

        An approximate index may find fewer than ``k'`` items: those slots hold index -1 and
        similarity -inf.
        """

    @abstractmethod
    def __len__(self) -> int:
        """Vectors added so far."""

    def describe(self) -> str:
        """The kind and its settings, for result tables."""
        return self.kind

    def _check_dim(self, x: torch.Tensor, what: str) -> None:
        if x.ndim != 2 or x.shape[1] != self.dim:
            raise ValueError(f"{what} must be [n, {self.dim}], got {tuple(x.shape)}")


class ExactIndex(NeighbourIndex):
    """Exact torch search over the added tensors (kept by reference, not copied)."""

    kind = "exact"

    def __init__(self, dim: int, chunk_size: int = 1024, bank_chunk_size: int = 32768) -> None:
        super().__init__(dim)
        if chunk_size < 1 or bank_chunk_size < 1:
            raise ValueError(f"chunk sizes must be >= 1, got {chunk_size} and {bank_chunk_size}")
        self.chunk_size, self.bank_chunk_size = chunk_size, bank_chunk_size
        self._parts: list[torch.Tensor] = []
        self._size = 0

    def add(self, vectors: torch.Tensor) -> None:
        """Keep ``vectors`` for search (normalised tile by tile at search time)."""
        self._check_dim(vectors, "vectors")
        if len(vectors):
            self._parts.append(vectors)
            self._size += len(vectors)

    def search(self, queries: torch.Tensor, k: int) -> tuple[torch.Tensor, torch.Tensor]:
        """Exact top-k (see :func:`selfsup.eval.exact_search.exact_topk`)."""
        self._check_dim(queries, "queries")
        k = check_k(k, self._size)
        return exact_topk(self._parts, queries, k, self.chunk_size, self.bank_chunk_size)

    def __len__(self) -> int:
        return self._size


# What kNN and retrieval take as ``index=``: a kind, options, or an index already over the bank.
IndexChoice = str | IndexOptions | NeighbourIndex


def create_index(
    kind: str,
    dim: int,
    expected_size: int,
    index: str | IndexOptions = "exact",
    chunk_size: int = 1024,
    bank_chunk_size: int = 32768,
) -> NeighbourIndex:
    """An empty index of a concrete ``kind`` for about ``expected_size`` vectors of ``dim``.

    ``index`` supplies the IVF settings; ``chunk_size`` / ``bank_chunk_size`` the exact tiles.
    """
    options = index_options(index)
    if kind == "exact":
        return ExactIndex(dim, chunk_size, bank_chunk_size)
    if kind == "faiss-flat":
        from selfsup.eval.faiss_index import FaissFlatIndex

        return FaissFlatIndex(dim)
    if kind == "faiss-ivf":
        from selfsup.eval.faiss_index import FaissIVFIndex, default_nlist

        nlist = options.nlist or default_nlist(expected_size)
        return FaissIVFIndex(dim, nlist, options.nprobe, options.seed)
    raise ConfigError(f"create_index needs exact, faiss-flat or faiss-ivf, got {kind!r}")


def build_index(
    bank: torch.Tensor,
    index: IndexChoice = "exact",
    num_queries: int | None = None,
    chunk_size: int = 1024,
    bank_chunk_size: int = 32768,
) -> NeighbourIndex:
    """An index over ``bank`` ``[N, D]``, trained and filled; ``auto`` and ``faiss`` pick the
    kind from ``N × num_queries`` (``num_queries`` defaults to ``N``). A :class:`NeighbourIndex`
    passes through when it holds as many vectors of the bank's width."""
    if bank.ndim != 2:
        raise ValueError(f"the bank must be [N, D], got {tuple(bank.shape)}")
    if len(bank) == 0:
        raise ValueError("the kNN bank is empty")
    if isinstance(index, NeighbourIndex):
        if len(index) != len(bank) or index.dim != bank.shape[1]:
            raise ValueError(
                f"the given index holds {len(index)} x {index.dim} vectors, "
                f"the bank is {len(bank)} x {bank.shape[1]}"
            )
        return index
    queries = len(bank) if num_queries is None else num_queries
    kind = choose_kind(index, len(bank), queries)
    built = create_index(kind, bank.shape[1], len(bank), index, chunk_size, bank_chunk_size)
    built.train(bank)
    built.add(bank)
    return built


def faiss_installed() -> bool:
    """Whether ``import faiss`` works."""
    try:
        import_faiss("faiss")
    except ConfigError:
        return False
    return True


def import_faiss(kind: str) -> Any:
    """The ``faiss`` module, or one :class:`ConfigError` naming the install command."""
    try:
        import faiss
    except ImportError:
        raise ConfigError(
            f"index {kind} needs faiss, which is not installed: {INSTALL_HINT}"
        ) from None
    return faiss


def check_k(k: int, size: int) -> int:
    """``k`` clamped to ``size``; ``ValueError`` for ``k < 1`` or an empty index."""
    if k < 1:
        raise ValueError(f"k must be >= 1, got {k}")
    if size == 0:
        raise ValueError("the index is empty")
    return min(k, size)

"""Nearest-neighbour retrieval by cosine similarity: recall@k and mAP over same-label matches.

Queries are ranked against a gallery (or, leave-one-out, against the other items of one set).
A gallery item is relevant to a query when it has the query's label.

With the exact index each query's whole ranking is sorted, ``chunk_size`` queries at a time
(fewer when the gallery is huge, so a chunk stays under ``FULL_RANK_ELEMENTS`` similarities),
which gives the full mAP. Other indexes (faiss, for galleries of millions) return only the top
``max(ks, map_depth)`` neighbours: recall@k is the same, and mAP is truncated at ``map_depth``
(reported as ``map@depth`` by every index, so the two can be compared).
"""

from __future__ import annotations

import dataclasses
from collections.abc import Sequence

import torch
import torch.nn.functional as F

from selfsup.eval.features import Features
from selfsup.eval.neighbour_index import (
    IndexChoice,
    NeighbourIndex,
    build_index,
    choose_kind,
    index_options,
)

FULL_RANK_ELEMENTS = 1 << 24  # per query chunk of a full ranking: ~64 MB of float32


@dataclasses.dataclass(frozen=True)
class RetrievalResult:
    """``recall[k]``: fraction of queries with a relevant item among their top k.
    ``mean_ap``: mean average precision over the full ranking (exact index only, else None).
    ``mean_ap_at``: AP truncated at ``map_depth``, normalised by ``min(map_depth, relevant)``
    so a perfect ranking scores 1. Queries without any relevant gallery item have neither and
    are counted in ``skipped_queries``. ``index`` names the search used."""

    recall: dict[int, float]
    mean_ap: float | None
    mean_ap_at: float
    map_depth: int
    num_queries: int
    skipped_queries: int
    index: str = "exact"

    def as_dict(self) -> dict[str, float | int | str]:
        """Flat metrics for tables and JSON."""
        out: dict[str, float | int | str] = {f"recall@{k}": v for k, v in self.recall.items()}
        if self.mean_ap is not None:
            out["map"] = self.mean_ap
        out[f"map@{self.map_depth}"] = self.mean_ap_at
        out.update(queries=self.num_queries, skipped_queries=self.skipped_queries)
        out["index"] = self.index
        return out


@dataclasses.dataclass
class _Tally:
    """Running sums over query chunks."""

    hits_at: dict[int, int]
    ap_sum: float = 0.0
    ap_at_sum: float = 0.0
    counted: int = 0

    def add(
        self, rel: torch.Tensor, num_rel: torch.Tensor, max_k: int, depth: int, full: bool
    ) -> None:
        """Count queries ``rel [q, n]`` (relevance in rank order, the whole ranking when
        ``full``) with ``num_rel`` relevant gallery items each."""
        keep = num_rel > 0
        rel, num_rel = rel[keep].float(), num_rel[keep]
        self.counted += int(keep.sum())
        first_hit = rel[:, :max_k].cummax(dim=1).values  # 1 from the first hit on
        for k in self.hits_at:
            self.hits_at[k] += int(first_hit[:, min(k, max_k) - 1].sum())
        # AP = mean over relevant positions i of precision@i = (#relevant in top i) / i.
        ranks = torch.arange(1, rel.shape[1] + 1, dtype=torch.float32)
        hit_precision = rel.cumsum(dim=1) / ranks * rel
        if full:
            self.ap_sum += (hit_precision.sum(dim=1) / num_rel).sum().item()
        at = hit_precision[:, :depth].sum(dim=1) / num_rel.clamp(max=depth)
        self.ap_at_sum += at.sum().item()


@torch.no_grad()
def retrieval_metrics(
    queries: Features,
    gallery: Features | None = None,
    ks: Sequence[int] = (1, 5, 10),
    chunk_size: int = 256,
    index: IndexChoice = "exact",
    map_depth: int = 100,
) -> RetrievalResult:
    """Recall@k and mAP of ``queries`` against ``gallery``; leave-one-out when gallery is None.

    In leave-one-out mode each item is removed from its own ranking. Ties in similarity rank
    the lower gallery index first (exact index). ``index`` picks the search (see
    :mod:`selfsup.eval.neighbour_index`); only the exact one reports the full-ranking mAP.
    """
    loo = gallery is None
    bank = queries if gallery is None else gallery
    _check(queries, bank, ks, chunk_size, map_depth)
    if isinstance(index, NeighbourIndex):
        kind = index.kind
    else:
        kind = choose_kind(index, len(bank), len(queries))
        index = dataclasses.replace(index_options(index), kind=kind)
    tally = _Tally({k: 0 for k in ks})
    max_k = min(max(ks), len(bank) - int(loo))
    depth = min(map_depth, len(bank) - int(loo))
    if kind == "exact":
        _full_rankings(queries, bank, loo, chunk_size, tally, max_k, depth)
        name = "exact"
    else:
        nn_index = build_index(bank.features, index, len(queries))
        _top_rankings(queries, bank, loo, nn_index, chunk_size, tally, max_k, depth)
        name = nn_index.describe()
    if tally.counted == 0:
        raise ValueError("no query has a relevant gallery item (no shared labels)")
    return RetrievalResult(
        recall={k: tally.hits_at[k] / tally.counted for k in ks},
        mean_ap=tally.ap_sum / tally.counted if kind == "exact" else None,
        mean_ap_at=tally.ap_at_sum / tally.counted,
        map_depth=depth,
        num_queries=tally.counted,
        skipped_queries=len(queries) - tally.counted,
        index=name,
    )


def _full_rankings(
    queries: Features,
    bank: Features,
    loo: bool,
    chunk_size: int,
    tally: _Tally,
    max_k: int,
    depth: int,
) -> None:
    """Sort the whole gallery for every query; exact, and the only way to the full mAP."""
    g = F.normalize(bank.features.float(), dim=1)  # [N, D]
    chunk_size = max(1, min(chunk_size, FULL_RANK_ELEMENTS // len(g)))
    for q0 in range(0, len(queries), chunk_size):
        q = F.normalize(queries.features[q0 : q0 + chunk_size].float(), dim=1)
        sims = q @ g.T  # [q, N]
        if loo:
            rows = torch.arange(len(q))
            sims[rows, rows + q0] = -torch.inf  # never retrieve yourself
        order = sims.sort(dim=1, descending=True, stable=True).indices  # [q, N]
        if loo:
            order = order[:, :-1]  # the item itself, sorted last
        rel = bank.labels[order] == queries.labels[q0 : q0 + chunk_size, None]  # [q, N(-1)]
        tally.add(rel, rel.sum(dim=1), max_k, depth, full=True)


def _top_rankings(
    queries: Features,
    bank: Features,
    loo: bool,
    nn_index: NeighbourIndex,
    chunk_size: int,
    tally: _Tally,
    max_k: int,
    depth: int,
) -> None:
    """The top ``max(max_k, depth)`` neighbours from ``nn_index``; how many relevant items
    each query has comes from the gallery's label counts."""
    n = max(max_k, depth)
    top_label = int(max(bank.labels.max(), queries.labels.max()))
    per_label = torch.bincount(bank.labels, minlength=top_label + 1)
    for q0 in range(0, len(queries), chunk_size):
        labels = queries.labels[q0 : q0 + chunk_size]
        _, idx = nn_index.search(queries.features[q0 : q0 + chunk_size], n + int(loo))
        if loo:
            idx = _drop_self(idx, torch.arange(q0, q0 + len(idx)), n)
        rel = (idx >= 0) & (bank.labels[idx.clamp_min(0)] == labels[:, None])  # [q, n]
        tally.add(rel, per_label[labels] - int(loo), max_k, depth, full=False)


def _drop_self(idx: torch.Tensor, own: torch.Tensor, n: int) -> torch.Tensor:
    """Each row without its own index (or, when absent, without its last slot)."""
    is_self = (idx == own[:, None]).int()  # [q, n + 1]
    keep_first = is_self.argsort(dim=1, stable=True)[:, :n]  # self moves to the end
    return idx.gather(1, keep_first)


def _check(
    queries: Features, bank: Features, ks: Sequence[int], chunk_size: int, map_depth: int
) -> None:
    if not ks or any(k < 1 for k in ks):
        raise ValueError(f"ks must be positive integers, got {list(ks)}")
    if chunk_size < 1:
        raise ValueError(f"chunk_size must be >= 1, got {chunk_size}")
    if map_depth < 1:
        raise ValueError(f"map_depth must be >= 1, got {map_depth}")
    if queries.dim != bank.dim:
        raise ValueError(f"queries have D={queries.dim} but the gallery has D={bank.dim}")
    if len(queries) == 0 or len(bank) < (2 if queries is bank else 1):
        raise ValueError("retrieval needs queries and a non-empty gallery")
    for name, f in (("query", queries), ("gallery", bank)):
        if int(f.labels.min()) < 0:
            raise ValueError(f"retrieval needs labels; some {name} items have label < 0")
        if not torch.isfinite(f.features).all():
            raise ValueError(f"{name} features contain NaN or inf")

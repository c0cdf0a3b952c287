"""Nearest-neighbour retrieval by cosine similarity: recall@k and mAP over same-label matches.

Queries are ranked against a gallery (or, leave-one-out, against the other items of one set).
A gallery item is relevant to a query when it has the query's label. Similarities are computed
``chunk_size`` queries at a time against the whole gallery, so memory is ``chunk_size × N``
floats (256 × 50k is 51 MB) and the full ranking needed by mAP never exists for all queries.
"""

from __future__ import annotations

import dataclasses
from collections.abc import Sequence

import torch
import torch.nn.functional as F

from selfsup.eval.features import Features


@dataclasses.dataclass(frozen=True)
class RetrievalResult:
    """``recall[k]``: fraction of queries with a relevant item among their top k.
    ``mean_ap``: mean average precision over the full ranking. Queries without any relevant
    gallery item have neither and are counted in ``skipped_queries``."""

    recall: dict[int, float]
    mean_ap: float
    num_queries: int
    skipped_queries: int

    def as_dict(self) -> dict[str, float | int]:
        """Flat metrics for tables and JSON."""
        out: dict[str, float | int] = {f"recall@{k}": v for k, v in self.recall.items()}
        out.update(map=self.mean_ap, queries=self.num_queries, skipped_queries=self.skipped_queries)
        return out


@torch.no_grad()
def retrieval_metrics(
    queries: Features,
    gallery: Features | None = None,
    ks: Sequence[int] = (1, 5, 10),
    chunk_size: int = 256,
) -> RetrievalResult:
    """Recall@k and mAP of ``queries`` against ``gallery``; leave-one-out when gallery is None.

    In leave-one-out mode each item is removed from its own ranking. Ties in similarity rank
    the lower gallery index first.
    """
    loo = gallery is None
    bank = queries if gallery is None else gallery
    _check(queries, bank, ks, chunk_size)
    g = F.normalize(bank.features.float(), dim=1)  # [N, D]
    g_labels = bank.labels
    hits_at = {k: 0 for k in ks}
    ap_sum, counted = 0.0, 0
    max_k = min(max(ks), len(g) - int(loo))
    for q0 in range(0, len(queries), chunk_size):
        q = F.normalize(queries.features[q0 : q0 + chunk_size].float(), dim=1)
        sims = q @ g.T  # [q, N]
        if loo:
            rows = torch.arange(len(q))
            sims[rows, rows + q0] = -torch.inf  # never retrieve yourself
        order = sims.sort(dim=1, descending=True, stable=True).indices  # [q, N]
        if loo:
            order = order[:, :-1]  # the item itself, sorted last
        rel = g_labels[order] == queries.labels[q0 : q0 + chunk_size, None]  # [q, N(-1)]
        num_rel = rel.sum(dim=1)
        keep = num_rel > 0
        rel, num_rel = rel[keep], num_rel[keep]
        counted += int(keep.sum())
        first_hit = rel[:, :max_k].float().cummax(dim=1).values  # 1 from the first hit on
        for k in ks:
            hits_at[k] += int(first_hit[:, min(k, max_k) - 1].sum())
        # AP = mean over relevant positions i of precision@i = (#relevant in top i) / i.
        ranks = torch.arange(1, rel.shape[1] + 1, dtype=torch.float32)
        precision = rel.float().cumsum(dim=1) / ranks
        ap_sum += ((precision * rel).sum(dim=1) / num_rel).sum().item()
    if counted == 0:
        raise ValueError("no query has a relevant gallery item (no shared labels)")
    return RetrievalResult(
        recall={k: hits_at[k] / counted for k in ks},
        mean_ap=ap_sum / counted,
        num_queries=counted,
        skipped_queries=len(queries) - counted,
    )


def _check(queries: Features, bank: Features, ks: Sequence[int], chunk_size: int) -> None:
    if not ks or any(k < 1 for k in ks):
        raise ValueError(f"ks must be positive integers, got {list(ks)}")
    if chunk_size < 1:
        raise ValueError(f"chunk_size must be >= 1, got {chunk_size}")
    if queries.dim != bank.dim:
        raise ValueError(f"queries have D={queries.dim} but the gallery has D={bank.dim}")
    if len(queries) == 0 or len(bank) < (2 if queries is bank else 1):
        raise ValueError("retrieval needs queries and a non-empty gallery")
    for name, f in (("query", queries), ("gallery", bank)):
        if int(f.labels.min()) < 0:
            raise ValueError(f"retrieval needs labels; some {name} items have label < 0")
        if not torch.isfinite(f.features).all():
            raise ValueError(f"{name} features contain NaN or inf")

"""Cross-modal matches for the report of a two-tower (CLIP) run: a few queries of each side
with their most similar items of the other side, and retrieval both ways.

Both come from one embedding of the held-out pairs by the caller's pair-encoding function
(the report never loads checkpoints): the galleries, match ids and metrics are those of
``selfsup eval crossmodal`` (:mod:`selfsup.eval.crossmodal`), so a text side keeps one entry
per distinct sentence and a "true pair" is any item sharing the query's pair (or sentence).
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

import numpy as np
import torch
import torch.nn.functional as F
from torch.utils.data import Subset

from selfsup.eval.crossmodal import (
    DirectionResult,
    PairEncode,
    chance_retrieval,
    cross_modal_retrieval,
    embed_pairs,
    retrieval_sides,
)
from selfsup.eval.tsne import tsne_subsample
from selfsup.report.thumbnails import item_html


@dataclass(frozen=True)
class Match:
    """One gallery item a query retrieved: its pair (dataset row), drawn, and how it scored."""

    row: int
    html: str
    similarity: float
    true_pair: bool


@dataclass(frozen=True)
class Query:
    """A query item (its pair's dataset row, drawn) and its top matches, best first."""

    row: int
    html: str
    matches: list[Match]


@dataclass(frozen=True)
class Direction:
    """Queries of one side against the gallery of the other, e.g. ``image -> text``."""

    query_side: str  # the query's modality
    gallery_side: str
    gallery: int  # items ranked per query
    queries: list[Query]
    retrieval: DirectionResult
    chance: DirectionResult


@dataclass
class CrossModalMatches:
    """Both directions (side a's queries first) on ``pairs`` of the ``total`` held-out pairs."""

    directions: list[Direction]
    pairs: int
    total: int


def crossmodal_matches(
    encode: PairEncode,
    data: Any,
    queries: int = 4,
    k: int = 5,
    max_pairs: int = 1000,
    sample_rates: tuple[int | None, int | None] = (None, None),
    batch_size: int = 256,
    seed: int = 0,
) -> CrossModalMatches:
    """Embed (up to ``max_pairs`` of) a pairs dataset (``sides``, ``texts``) with ``encode``
    and pick ``queries`` items spread over each side, each with its ``k`` most similar items
    of the other side; ``sample_rates``: each side's, to draw audio items."""
    from selfsup.modalities.pairs import PairCollate

    total = len(data)
    pick = list(range(total)) if total <= max_pairs else tsne_subsample(total, max_pairs, seed)
    rows = [int(i) for i in pick]
    subset = data if len(rows) == total else Subset(data, rows)
    texts = {side: [strings[i] for i in rows] for side, strings in data.texts.items()}
    emb_a, emb_b = embed_pairs(encode, subset, PairCollate(data.sides), batch_size)
    g = retrieval_sides(emb_a.features, emb_b.features, texts)
    result = cross_modal_retrieval(g.a, g.b, g.ids_a, g.ids_b)
    sim = F.normalize(g.a.float(), dim=1) @ F.normalize(g.b.float(), dim=1).T  # [N_a, N_b]

    def draw(side: int, row: int) -> str:  # ``row`` indexes the embedded pairs
        name = "ab"[side]
        text = texts[name][row] if name in texts else None
        return item_html(data.sides[side], subset[row][name]["input"], text, sample_rates[side])

    views = (
        (0, sim, g.ids_a, g.ids_b, g.rows_a, g.rows_b, result.a_to_b),
        (1, sim.T, g.ids_b, g.ids_a, g.rows_b, g.rows_a, result.b_to_a),
    )
    directions = []
    for side, s, ids_q, ids_g, rows_q, rows_g, metrics in views:
        chosen = _spread(s.shape[0], queries)
        values, order = s[torch.as_tensor(chosen)].topk(min(k, s.shape[1]), dim=1)
        drawn = []
        for qi, sims, idx in zip(chosen, values.tolist(), order.tolist(), strict=True):
            matches = [
                Match(
                    rows[int(rows_g[j])],
                    draw(1 - side, int(rows_g[j])),
                    v,
                    bool(ids_g[j] == ids_q[qi]),
                )
                for v, j in zip(sims, idx, strict=True)
            ]
            drawn.append(Query(rows[int(rows_q[qi])], draw(side, int(rows_q[qi])), matches))
        gallery = int(s.shape[1])
        chance = chance_retrieval(ids_q, ids_g, tuple(metrics.recall))
        names = data.sides[side], data.sides[1 - side]
        directions.append(Direction(*names, gallery, drawn, metrics, chance))
    return CrossModalMatches(directions, len(rows), total)


def _spread(n: int, count: int) -> list[int]:
    """``count`` indices spread evenly over ``range(n)`` (as the neighbour grid's queries)."""
    return [int(i) for i in np.linspace(0, n - 1, num=min(count, n)).round().astype(int)]

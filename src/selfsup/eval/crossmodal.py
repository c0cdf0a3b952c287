"""Cross-modal evaluation of two-tower models: retrieval both ways and zero-shot classes.

Embeddings come from any function mapping a pair batch to two ``[B, D]`` matrices (a CLIP
method's ``embed_pair``); evaluation never sees the method. Retrieval ranks, for each item of
one side, every item of the other by cosine similarity. An item's matches are the items with
its ``id`` (by default its own row; the speech of one sentence read by several voices shares
the sentence's id, so any of them counts); its rank is 1 + the number of non-matching items
scoring strictly higher than its best match. Zero-shot classification picks the class whose
embedding (a prompt's, or the mean of class exemplars from the other side) is most similar.
"""

from __future__ import annotations

import dataclasses
from collections.abc import Callable, Mapping, Sequence
from typing import Any

import torch
import torch.nn.functional as F
from torch.utils.data import DataLoader, Dataset

from selfsup.eval.features import Features

PairEncode = Callable[[dict[str, torch.Tensor]], tuple[torch.Tensor, torch.Tensor]]
KS = (1, 5, 10)


@dataclasses.dataclass(frozen=True)
class DirectionResult:
    """Recall@k (share of queries with a match among their top k) and the median rank."""

    recall: dict[int, float]
    median_rank: float
    queries: int


@dataclasses.dataclass(frozen=True)
class CrossModalResult:
    """Retrieval ``a_to_b`` (queries of side a, gallery of side b) and ``b_to_a``."""

    a_to_b: DirectionResult
    b_to_a: DirectionResult

    def as_dict(self, names: tuple[str, str] = ("a", "b")) -> dict[str, float | int]:
        """Flat metrics, e.g. ``audio->text R@1``, named by the sides' modalities."""
        out: dict[str, float | int] = {}
        for (q, g), r in (((names[0], names[1]), self.a_to_b), ((names[1], names[0]), self.b_to_a)):
            for k, v in r.recall.items():
                out[f"{q}->{g} R@{k}"] = v
            out[f"{q}->{g} median rank"] = r.median_rank
            out[f"{q}->{g} queries"] = r.queries
        return out


def match_ranks(
    sim: torch.Tensor, query_ids: torch.Tensor, gallery_ids: torch.Tensor
) -> torch.Tensor:
    """1-based rank of each query's best-scoring match in ``sim [Q, G]``; 0 where the
    gallery holds no match for it."""
    match = query_ids[:, None] == gallery_ids[None, :]  # [Q, G]
    best = sim.masked_fill(~match, float("-inf")).max(dim=1).values  # [Q]
    above = ((sim > best[:, None]) & ~match).sum(dim=1)  # [Q] non-matches ranked higher
    return torch.where(match.any(dim=1), above + 1, torch.zeros_like(above))


def direction_metrics(ranks: torch.Tensor, ks: Sequence[int] = KS) -> DirectionResult:
    """Recall@k and median rank of the queries that have a match (rank > 0)."""
    ranks = ranks[ranks > 0].float()
    if ranks.numel() == 0:
        raise ValueError("no query has a match in the other side")
    recall = {k: float((ranks <= k).float().mean()) for k in ks}
    return DirectionResult(recall, float(ranks.median()), int(ranks.numel()))


def cross_modal_retrieval(
    emb_a: torch.Tensor,
    emb_b: torch.Tensor,
    ids_a: torch.Tensor | None = None,
    ids_b: torch.Tensor | None = None,
    ks: Sequence[int] = KS,
) -> CrossModalResult:
    """Retrieval both ways between ``emb_a [N, D]`` and ``emb_b [M, D]`` (cosine); item
    ``i`` of a matches the items of b with its id (default: row ``i`` of b, N == M)."""
    if ids_a is None or ids_b is None:
        if emb_a.shape[0] != emb_b.shape[0]:
            raise ValueError("without ids both sides need one row per pair")
        ids_a = ids_b = torch.arange(emb_a.shape[0])
    sim = F.normalize(emb_a.float(), dim=1) @ F.normalize(emb_b.float(), dim=1).T  # [N, M]
    a_to_b = direction_metrics(match_ranks(sim, ids_a, ids_b), ks)
    b_to_a = direction_metrics(match_ranks(sim.T, ids_b, ids_a), ks)
    return CrossModalResult(a_to_b, b_to_a)


def zero_shot_accuracy(
    emb: torch.Tensor, class_emb: torch.Tensor, labels: torch.Tensor, ks: Sequence[int] = (1, 5)
) -> dict[int, float]:
    """Top-k accuracy of classifying ``emb [N, D]`` by the most similar of ``class_emb
    [C, D]`` (unlabelled rows, label -1, are left out)."""
    keep = labels >= 0
    if not keep.any():
        raise ValueError("zero-shot classification needs labelled items")
    sim = F.normalize(emb[keep].float(), dim=1) @ F.normalize(class_emb.float(), dim=1).T
    top = sim.topk(min(max(ks), sim.shape[1]), dim=1).indices  # [N, k]
    hit = top == labels[keep][:, None]
    return {k: float(hit[:, :k].any(dim=1).float().mean()) for k in ks}


def class_exemplars(emb: torch.Tensor, labels: torch.Tensor, classes: int) -> torch.Tensor:
    """One unit vector per class: the mean of its items' normalised embeddings ``[C, D]``
    (zero for a class without items)."""
    unit = F.normalize(emb.float(), dim=1)
    out = torch.zeros(classes, emb.shape[1])
    keep = labels >= 0
    out.index_add_(0, labels[keep], unit[keep])
    return F.normalize(out, dim=1)


@torch.no_grad()
def embed_pairs(
    encode: PairEncode,
    dataset: Dataset[Any],
    collate: Callable[[list[Any]], dict[str, torch.Tensor]],
    batch_size: int = 256,
    device: str | torch.device = "cpu",
) -> tuple[Features, Features]:
    """Both sides' embeddings of every pair of ``dataset`` (labels: the pairs')."""
    loader = DataLoader(dataset, batch_size=batch_size, collate_fn=collate)
    parts_a, parts_b, labels = [], [], []
    for batch in loader:
        a, b = encode({k: v.to(device) for k, v in batch.items()})
        parts_a.append(a.float().cpu())
        parts_b.append(b.float().cpu())
        labels.append(batch["label"])
    y = torch.cat(labels)
    return Features(torch.cat(parts_a), y), Features(torch.cat(parts_b), y)


def text_ids(texts: Sequence[str]) -> tuple[torch.Tensor, list[int]]:
    """An id per row (equal strings share one) and the first row of each distinct string."""
    lookup: dict[str, int] = {}
    ids = torch.tensor([lookup.setdefault(t, len(lookup)) for t in texts], dtype=torch.int64)
    first = sorted({t: i for i, t in reversed(list(enumerate(texts)))}.values())
    return ids, first


@dataclasses.dataclass(frozen=True)
class RetrievalSides:
    """Both sides' embeddings as retrieval ranks them, with each row's match ``ids`` and the
    pair (dataset row) it came from: ``rows_a`` / ``rows_b``."""

    a: torch.Tensor
    b: torch.Tensor
    ids_a: torch.Tensor
    ids_b: torch.Tensor
    rows_a: torch.Tensor
    rows_b: torch.Tensor


def retrieval_sides(
    emb_a: torch.Tensor, emb_b: torch.Tensor, texts: Mapping[str, Sequence[str]]
) -> RetrievalSides:
    """Pair ``i``'s embeddings on both sides match each other; with one text side (``texts``:
    side name -> each pair's string) that side keeps one row per distinct sentence, and every
    pair of a sentence (several recordings or images of it) shares the sentence's id."""
    ids_a = ids_b = rows_a = rows_b = torch.arange(len(emb_a))
    a, b = emb_a, emb_b
    for side, strings in texts.items() if len(texts) == 1 else ():
        ids, first = text_ids(strings)
        ids_a, ids_b, keep = ids, ids, torch.as_tensor(first, dtype=torch.int64)
        if side == "a":
            a, ids_a, rows_a = a[keep], ids[keep], keep
        else:
            b, ids_b, rows_b = b[keep], ids[keep], keep
    return RetrievalSides(a, b, ids_a, ids_b, rows_a, rows_b)


def chance_retrieval(
    query_ids: torch.Tensor, gallery_ids: torch.Tensor, ks: Sequence[int] = KS
) -> DirectionResult:
    """What ranking the gallery at random scores, for the queries that have a match: a query
    with ``m`` matches among ``G`` items finds one in its top k with probability
    ``1 - C(G-m, k) / C(G, k)``, and its best match's expected rank is ``(G + 1) / (m + 1)``
    (the "median rank" here is the median of those expectations)."""
    gallery = len(gallery_ids)
    counts = (query_ids[:, None] == gallery_ids[None, :]).sum(dim=1)
    counts = counts[counts > 0].double()
    if counts.numel() == 0:
        raise ValueError("no query has a match in the other side")
    recall = {}
    for k in ks:
        steps = torch.arange(min(k, gallery), dtype=torch.float64)  # C(G-m,k)/C(G,k) as a product
        miss = ((gallery - counts[:, None] - steps) / (gallery - steps)).clamp(min=0).prod(dim=1)
        recall[k] = float((1 - miss).mean())
    median = float(((gallery + 1) / (counts + 1)).median())
    return DirectionResult(recall, median, int(counts.numel()))


def crossmodal_report(
    encode: PairEncode,
    encode_b: Callable[[torch.Tensor], torch.Tensor],
    data: Any,
    zero_shot: str = "auto",
    prompt: str = "{}",
    exemplars: Any = None,
    batch_size: int = 256,
    device: str | torch.device = "cpu",
) -> dict[str, Any]:
    """Retrieval both ways and zero-shot accuracy on a pairs dataset (``data.sides``,
    ``data.texts``, ``data.classes``, ``data.tokenizer``). A text side is deduplicated (one
    gallery entry per distinct sentence). Zero-shot (labelled data only): ``prompts`` embeds
    ``prompt.format(class)`` with ``encode_b``; ``exemplars`` averages the side-b embeddings
    of each class in ``exemplars`` (a labelled pairs dataset, e.g. the training split)."""
    from selfsup.data.text_datasets import sentence_row
    from selfsup.modalities.pairs import PairCollate

    collate = PairCollate(data.sides)
    emb_a, emb_b = embed_pairs(encode, data, collate, batch_size, device)
    g = retrieval_sides(emb_a.features, emb_b.features, data.texts)
    result: dict[str, Any] = cross_modal_retrieval(g.a, g.b, g.ids_a, g.ids_b).as_dict(data.sides)
    result["pairs"] = len(data)
    labels = emb_a.labels
    if zero_shot == "off" or not data.classes or not (labels >= 0).any():
        return result
    use_prompts = zero_shot == "prompts" or (zero_shot == "auto" and data.sides[1] == "text")
    if use_prompts:
        if data.sides[1] != "text":
            raise ValueError("zero-shot prompts need a text side b; use --zero-shot exemplars")
        width = int(data.b.shape[1])
        rows = [
            sentence_row(data.tokenizer, data.tokenizer.encode(prompt.format(c)), width)
            for c in data.classes
        ]
        class_emb = encode_b(torch.stack(rows).to(device)).float().cpu()
    else:
        source = exemplars if exemplars is not None else data
        _, train_b = embed_pairs(encode, source, collate, batch_size, device)
        class_emb = class_exemplars(train_b.features, train_b.labels, len(data.classes))
    accuracy = zero_shot_accuracy(emb_a.features, class_emb, labels)
    how = "prompts" if use_prompts else "exemplars"
    for k, v in accuracy.items():
        result[f"zero-shot top-{k} ({how})"] = v
    result["classes"] = len(data.classes)
    return result

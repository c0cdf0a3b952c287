"""Weighted k-nearest-neighbour classification on frozen features (cosine similarity).

Each query takes its ``k`` most cosine-similar bank items and lets them vote for their class
with weight ``exp(sim / T)`` (the non-parametric classifier of instance discrimination and
DINO's kNN monitor). Neighbours come from a :mod:`selfsup.eval.neighbour_index`: by default
exact torch tiles (``[query chunk × bank chunk]`` with a running top-k, so memory stays at one
tile however large Q and N are); ``index="auto"`` or a faiss kind for big banks.
"""

from __future__ import annotations

import dataclasses

import torch

from selfsup.eval.features import Features
from selfsup.eval.neighbour_index import IndexChoice, build_index


@dataclasses.dataclass(frozen=True)
class KNNResult:
    """Accuracy of a kNN classifier: ``top5`` is None with fewer than 5 classes."""

    top1: float
    top5: float | None
    k: int
    temperature: float
    index: str = "exact"


def knn_neighbors(
    bank: torch.Tensor,
    queries: torch.Tensor,
    k: int,
    chunk_size: int = 1024,
    bank_chunk_size: int = 32768,
    index: IndexChoice = "exact",
) -> tuple[torch.Tensor, torch.Tensor]:
    """Cosine similarities and indices of each query's ``k`` nearest bank rows, best first.

    Returns ``(sims [Q, k], indices [Q, k])`` with ``k`` clamped to the bank size. The exact
    index works on ``bank.device`` in float32, ``chunk_size`` queries × ``bank_chunk_size``
    bank rows at a time; faiss kinds work on the CPU, and ``faiss-ivf`` may leave slots
    unfound (index -1, similarity -inf).
    """
    _check_pair(bank, queries)
    if k < 1:
        raise ValueError(f"k must be >= 1, got {k}")
    nn_index = build_index(bank, index, len(queries), chunk_size, bank_chunk_size)
    sims, idx = nn_index.search(queries, k)
    return sims.to(bank.device), idx.to(bank.device)


def knn_class_ranking(
    train_features: torch.Tensor,
    train_labels: torch.Tensor,
    query_features: torch.Tensor,
    k: int = 200,
    temperature: float = 0.1,
    num_classes: int | None = None,
    top: int = 1,
    chunk_size: int = 1024,
    bank_chunk_size: int = 32768,
    index: IndexChoice = "exact",
) -> torch.Tensor:
    """The ``top`` best-voted classes per query, best first: ``[Q, top]`` int64.

    Vote ties go to the smaller class index. ``index`` picks the neighbour search (a kind of
    :data:`~selfsup.eval.neighbour_index.INDEX_KINDS` or :class:`IndexOptions`).
    """
    if temperature <= 0:
        raise ValueError(f"temperature must be > 0, got {temperature}")
    _check_pair(train_features, query_features)
    num_classes = _check_labels(train_labels, len(train_features), num_classes)
    if not 1 <= top <= num_classes:
        raise ValueError(f"top must be in [1, {num_classes}], got {top}")
    labels = train_labels.to(train_features.device)
    nn_index = build_index(train_features, index, len(query_features), chunk_size, bank_chunk_size)
    ranking = torch.empty(len(query_features), top, dtype=torch.long, device=train_features.device)
    # One query chunk at a time keeps the [q, k] and [q, C] tensors small too.
    for q0 in range(0, len(query_features), chunk_size):
        sims, idx = nn_index.search(query_features[q0 : q0 + chunk_size], k)
        sims, idx = sims.to(labels.device), idx.to(labels.device)
        # exp((s - s_max) / T) ∝ exp(s / T) and cannot overflow for small T; slots an
        # approximate index left unfound (-1, -inf) get weight 0.
        weights = ((sims - sims[:, :1]) / temperature).exp().nan_to_num_(0.0)  # [q, k]
        votes = torch.zeros(len(sims), num_classes, dtype=torch.float32, device=sims.device)
        votes.scatter_add_(1, labels[idx.clamp_min(0)], weights)  # [q, C]
        order = votes.sort(dim=1, descending=True, stable=True).indices
        ranking[q0 : q0 + len(sims)] = order[:, :top]
    return ranking


def knn_predict(
    train_features: torch.Tensor,
    train_labels: torch.Tensor,
    query_features: torch.Tensor,
    k: int = 200,
    temperature: float = 0.1,
    num_classes: int | None = None,
    chunk_size: int = 1024,
    bank_chunk_size: int = 32768,
    index: IndexChoice = "exact",
) -> torch.Tensor:
    """Predicted class per query ``[Q]`` from a temperature-weighted vote of ``k`` neighbours.

    Features are L2-normalised here; ``k`` is clamped to the bank size. ``num_classes``
    defaults to ``max(train_labels) + 1``. Bank labels must be >= 0 (no unlabelled items).
    """
    return knn_class_ranking(
        train_features,
        train_labels,
        query_features,
        k,
        temperature,
        num_classes,
        1,
        chunk_size,
        bank_chunk_size,
        index,
    )[:, 0]


def knn_accuracy(
    train_features: torch.Tensor,
    train_labels: torch.Tensor,
    query_features: torch.Tensor,
    query_labels: torch.Tensor,
    k: int = 200,
    temperature: float = 0.1,
    num_classes: int | None = None,
    chunk_size: int = 1024,
    bank_chunk_size: int = 32768,
    index: IndexChoice = "exact",
) -> float:
    """Top-1 accuracy (fraction in [0, 1]) of :func:`knn_predict` on labelled queries."""
    _check_query_labels(query_labels, len(query_features))
    pred = knn_predict(
        train_features,
        train_labels,
        query_features,
        k,
        temperature,
        num_classes,
        chunk_size,
        bank_chunk_size,
        index,
    )
    return (pred.cpu() == query_labels.cpu()).float().mean().item()


def knn_evaluate(
    train: Features,
    test: Features,
    k: int = 200,
    temperature: float = 0.1,
    num_classes: int | None = None,
    chunk_size: int = 1024,
    bank_chunk_size: int = 32768,
    index: IndexChoice = "exact",
) -> KNNResult:
    """Top-1 (and top-5 with >= 5 classes) kNN accuracy of ``test`` against the ``train`` bank.

    ``index="auto"`` searches exactly in torch while ``len(train) × len(test)`` is small and
    with faiss beyond (see :mod:`selfsup.eval.neighbour_index`); ``result.index`` names it.
    """
    _check_query_labels(test.labels, len(test))
    _check_pair(train.features, test.features)
    nn_index = build_index(train.features, index, len(test), chunk_size, bank_chunk_size)
    if num_classes is None:
        num_classes = int(max(train.labels.max(), test.labels.max())) + 1 if len(train) else 0
    top = 5 if num_classes >= 5 else 1
    ranking = knn_class_ranking(
        train.features,
        train.labels,
        test.features,
        k,
        temperature,
        num_classes,
        top,
        chunk_size,
        bank_chunk_size,
        nn_index,
    ).cpu()
    hits = ranking == test.labels[:, None]  # [Q, top]
    return KNNResult(
        top1=hits[:, 0].float().mean().item(),
        top5=hits.any(dim=1).float().mean().item() if top == 5 else None,
        k=min(k, len(train)),
        temperature=temperature,
        index=nn_index.describe(),
    )


def _check_pair(bank: torch.Tensor, queries: torch.Tensor) -> None:
    if bank.ndim != 2 or queries.ndim != 2:
        raise ValueError(
            f"features must be [N, D]; got bank {tuple(bank.shape)}, queries {tuple(queries.shape)}"
        )
    if bank.shape[1] != queries.shape[1]:
        raise ValueError(f"bank has D={bank.shape[1]} but queries have D={queries.shape[1]}")
    if len(bank) == 0:
        raise ValueError("the kNN bank is empty")


def _check_labels(labels: torch.Tensor, n: int, num_classes: int | None) -> int:
    if labels.shape != (n,):
        raise ValueError(f"train labels must be [{n}], got {tuple(labels.shape)}")
    if n == 0:
        raise ValueError("the kNN bank is empty")
    if labels.dtype.is_floating_point or labels.dtype == torch.bool:
        raise ValueError(f"train labels must be integers, got {labels.dtype}")
    unlabelled = int((labels < 0).sum())
    if unlabelled:
        raise ValueError(f"kNN needs a labelled bank; {unlabelled} of {n} items have label < 0")
    top_label = int(labels.max())
    if num_classes is None:
        return top_label + 1
    if top_label >= num_classes:
        raise ValueError(f"bank label {top_label} is out of range for num_classes={num_classes}")
    return num_classes


def _check_query_labels(labels: torch.Tensor, n: int) -> None:
    if labels.shape != (n,):
        raise ValueError(f"query labels must be [{n}], got {tuple(labels.shape)}")
    if n and int(labels.min()) < 0:
        raise ValueError("accuracy needs labelled queries; found label < 0")

"""Weighted k-nearest-neighbour classification on frozen features (cosine similarity).

Each query takes its ``k`` most cosine-similar bank items and lets them vote for their class
with weight ``exp(sim / T)`` (the non-parametric classifier of instance discrimination and
DINO's kNN monitor). Similarities are streamed in ``[query chunk × bank chunk]`` tiles while a
running top-k is kept, so memory stays at one tile however large Q and N are.
"""

from __future__ import annotations

import dataclasses

import torch

from selfsup.eval.features import Features


@dataclasses.dataclass(frozen=True)
class KNNResult:
    """Accuracy of a kNN classifier: ``top5`` is None with fewer than 5 classes."""

    top1: float
    top5: float | None
    k: int
    temperature: float


def knn_neighbors(
    bank: torch.Tensor,
    queries: torch.Tensor,
    k: int,
    chunk_size: int = 1024,
    bank_chunk_size: int = 32768,
) -> tuple[torch.Tensor, torch.Tensor]:
    """Cosine similarities and indices of each query's ``k`` nearest bank rows, best first.

    Returns ``(sims [Q, k], indices [Q, k])`` with ``k`` clamped to the bank size. Work happens
    on ``bank.device`` in float32, ``chunk_size`` queries × ``bank_chunk_size`` bank rows at a
    time.
    """
    _check_pair(bank, queries)
    if k < 1:
        raise ValueError(f"k must be >= 1, got {k}")
    if chunk_size < 1 or bank_chunk_size < 1:
        raise ValueError(f"chunk sizes must be >= 1, got {chunk_size} and {bank_chunk_size}")
    k = min(k, len(bank))
    return _dense_neighbors(bank, queries, k, chunk_size, bank_chunk_size)


def _dense_neighbors(
    bank: torch.Tensor, queries: torch.Tensor, k: int, chunk_size: int, bank_chunk_size: int
) -> tuple[torch.Tensor, torch.Tensor]:
    """Exact float32 similarities for every pair, tile by tile, with a running top-k."""
    device = bank.device
    sims_out = torch.empty(len(queries), k, dtype=torch.float32, device=device)
    idx_out = torch.empty(len(queries), k, dtype=torch.long, device=device)
    # Reused buffers: fresh 100 MB tiles per step cost more in page faults than in arithmetic.
    bank_buf = torch.empty(min(bank_chunk_size, len(bank)) * bank.shape[1], device=device)
    sim_buf = torch.empty(
        min(chunk_size, len(queries)) * min(bank_chunk_size, len(bank)), device=device
    )
    for q0 in range(0, len(queries), chunk_size):
        q = _unit(queries[q0 : q0 + chunk_size].to(device), "query")  # [q, D]
        best_sim = q.new_empty(len(q), 0)  # running top-k similarities [q, <=k]
        best_idx = torch.empty(len(q), 0, dtype=torch.long, device=device)
        for b0 in range(0, len(bank), bank_chunk_size):
            chunk = bank[b0 : b0 + bank_chunk_size]
            b = _unit(chunk, "bank", out=bank_buf[: chunk.numel()].view(chunk.shape))  # [n, D]
            sim = torch.mm(q, b.T, out=sim_buf[: len(q) * len(b)].view(len(q), len(b)))
            chunk_sim, chunk_pos = sim.topk(min(k, len(b)), dim=1)  # [q, <=k]
            best_sim, best_idx = _merge(best_sim, best_idx, chunk_sim, chunk_pos + b0, k)
        sims_out[q0 : q0 + len(q)] = best_sim
        idx_out[q0 : q0 + len(q)] = best_idx
    return sims_out, idx_out


def _merge(
    best_sim: torch.Tensor, best_idx: torch.Tensor, sim: torch.Tensor, idx: torch.Tensor, k: int
) -> tuple[torch.Tensor, torch.Tensor]:
    """Top-k of the running candidates joined with new ones, best first."""
    cand_sim = torch.cat([best_sim, sim], dim=1)  # [q, <=k + m]
    cand_idx = torch.cat([best_idx, idx], dim=1)
    top_sim, pos = cand_sim.topk(min(k, cand_sim.shape[1]), dim=1)
    return top_sim, cand_idx.gather(1, pos)


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
) -> torch.Tensor:
    """The ``top`` best-voted classes per query, best first: ``[Q, top]`` int64.

    Vote ties go to the smaller class index.
    """
    if temperature <= 0:
        raise ValueError(f"temperature must be > 0, got {temperature}")
    _check_pair(train_features, query_features)
    num_classes = _check_labels(train_labels, len(train_features), num_classes)
    if not 1 <= top <= num_classes:
        raise ValueError(f"top must be in [1, {num_classes}], got {top}")
    labels = train_labels.to(train_features.device)
    ranking = torch.empty(len(query_features), top, dtype=torch.long, device=train_features.device)
    # One query chunk at a time keeps the [q, k] and [q, C] tensors small too.
    for q0 in range(0, len(query_features), chunk_size):
        sims, idx = knn_neighbors(
            train_features, query_features[q0 : q0 + chunk_size], k, chunk_size, bank_chunk_size
        )
        # exp((s - s_max) / T) ∝ exp(s / T) and cannot overflow for small T.
        weights = ((sims - sims[:, :1]) / temperature).exp()  # [q, k]
        votes = torch.zeros(len(sims), num_classes, dtype=torch.float32, device=sims.device)
        votes.scatter_add_(1, labels[idx], weights)  # [q, C]
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
) -> KNNResult:
    """Top-1 (and top-5 with >= 5 classes) kNN accuracy of ``test`` against the ``train`` bank."""
    _check_query_labels(test.labels, len(test))
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
    ).cpu()
    hits = ranking == test.labels[:, None]  # [Q, top]
    return KNNResult(
        top1=hits[:, 0].float().mean().item(),
        top5=hits.any(dim=1).float().mean().item() if top == 5 else None,
        k=min(k, len(train)),
        temperature=temperature,
    )


def _unit(x: torch.Tensor, what: str, out: torch.Tensor | None = None) -> torch.Tensor:
    """Rows scaled to unit L2 norm in float32 (zero rows stay zero), written to ``out`` if given."""
    x = x.float()
    norms = torch.linalg.vector_norm(x, dim=1, keepdim=True).clamp_min_(1e-12)
    x = torch.div(x, norms, out=out) if out is not None else x / norms
    if not torch.isfinite(norms).all():
        raise ValueError(f"{what} features contain NaN or inf")
    return x


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

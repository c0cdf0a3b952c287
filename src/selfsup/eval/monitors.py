"""Label-free health signals of a representation, cheap enough to log during training.

* ``embedding_std``: spread of the L2-normalised embeddings (0 when every row is alike).
* ``effective_rank``: RankMe (Garrido et al., 2023), ``exp`` of the entropy of the normalised
  singular values; 1 for a rank-1 (collapsed) batch, ``r`` for ``r`` equal singular values.
* ``alignment`` / ``uniformity`` (Wang & Isola, 2020) on the unit sphere: how close the two
  views of one item land, and how evenly all items spread.
* ``teacher_entropy``: for distillation methods, whether the teacher's distribution collapsed to
  one prototype (low entropy of the batch mean) or to uniform (per-sample entropy near log K).

Each takes a ``[B, D]`` batch and returns Python floats, so the engine can call them per log step.
"""

from __future__ import annotations

import dataclasses
import math
from collections.abc import Callable
from typing import Any

import torch
import torch.nn.functional as F
from torch.utils.data import DataLoader, Subset, default_collate

RANKME_EPS = 1e-7  # the paper's epsilon added to the normalised singular values


@torch.no_grad()
def embedding_std(z: torch.Tensor) -> float:
    """Std over the batch of L2-normalised embeddings ``[B, D]``, averaged over dimensions.

    A collapsed representation (all rows alike) gives 0; an isotropic one gives about
    ``1 / sqrt(D)``, so values far below that flag (partial) collapse.
    """
    if z.ndim != 2 or z.shape[0] < 2:
        raise ValueError(f"embedding_std needs [B, D] with B >= 2, got {tuple(z.shape)}")
    unit = F.normalize(z.detach().float(), dim=1)
    return unit.std(dim=0).mean().item()


@torch.no_grad()
def effective_rank(z: torch.Tensor, eps: float = RANKME_EPS) -> float:
    """RankMe of ``z`` ``[N, D]``: ``exp(-sum p_k log p_k)`` with ``p = s / ||s||_1 + eps``.

    ``s`` are the singular values of the raw (uncentred, unnormalised) embeddings, as in the
    paper. The value lies in ``[1, min(N, D)]`` (up to ``eps``); compare it with that maximum.
    """
    _check_batch(z, "effective_rank")
    x = z.detach().float()
    if not torch.isfinite(x).all():
        raise ValueError("effective_rank got NaN or inf embeddings")
    s = torch.linalg.svdvals(x.double())  # float64: tiny singular values of a collapsed batch
    total = s.sum()
    if total <= 0:
        return 1.0  # an all-zero batch is as collapsed as a batch can be
    p = s / total + eps
    return math.exp(-(p * p.log()).sum().item())


@torch.no_grad()
def alignment(z1: torch.Tensor, z2: torch.Tensor, alpha: float = 2.0) -> float:
    """``E ||f(x) - f(y)||^alpha`` over positive pairs (row i of ``z1`` with row i of ``z2``).

    Rows are L2-normalised first; 0 means both views of every item coincide, 4 (alpha 2) that
    they are antipodal.
    """
    if z1.shape != z2.shape or z1.ndim != 2 or len(z1) == 0:
        raise ValueError(
            f"alignment needs two [B, D] batches of one shape, got {tuple(z1.shape)} and "
            f"{tuple(z2.shape)}"
        )
    if alpha <= 0:
        raise ValueError(f"alpha must be > 0, got {alpha}")
    a = F.normalize(z1.detach().float(), dim=1)
    b = F.normalize(z2.detach().float(), dim=1)
    return (a - b).norm(dim=1).pow(alpha).mean().item()


@torch.no_grad()
def uniformity(z: torch.Tensor, t: float = 2.0, max_items: int | None = 4096) -> float:
    """``log E exp(-t ||x - y||^2)`` over all distinct pairs of L2-normalised rows.

    0 for a collapsed batch (every distance 0); more negative is more uniform. The first
    ``max_items`` rows are used (pairs grow quadratically); pass None to use all of them.
    """
    _check_batch(z, "uniformity")
    if t <= 0:
        raise ValueError(f"t must be > 0, got {t}")
    x = z.detach().float()
    if max_items is not None:
        x = x[:max_items]
    unit = F.normalize(x, dim=1)
    sq = torch.pdist(unit).pow(2)  # [B(B-1)/2] distinct pairs
    # logsumexp - log(count): the mean of exp without underflow for large t.
    return (torch.logsumexp(-t * sq, dim=0) - math.log(len(sq))).item()


@dataclasses.dataclass(frozen=True)
class TeacherEntropy:
    """``mean_entropy``: average entropy of each sample's teacher distribution; near 0 when the
    teacher is confident, near ``log K`` when it collapsed to uniform. ``marginal_entropy``:
    entropy of the batch-mean distribution; near 0 when every sample picks one prototype.
    Both in nats; ``max_entropy`` is ``log K``."""

    mean_entropy: float
    marginal_entropy: float
    max_entropy: float


@torch.no_grad()
def teacher_entropy(probs: torch.Tensor) -> TeacherEntropy:
    """Entropies of teacher probabilities ``[B, K]`` (rows are distributions over K prototypes)."""
    _check_batch(probs, "teacher_entropy", min_rows=1)
    p = probs.detach().double()
    if (p < 0).any() or not torch.allclose(
        p.sum(dim=1), torch.ones(len(p), dtype=p.dtype), atol=1e-3
    ):
        raise ValueError("teacher_entropy needs rows of probabilities (>= 0, summing to 1)")
    return TeacherEntropy(
        mean_entropy=_entropy(p).mean().item(),
        marginal_entropy=_entropy(p.mean(dim=0, keepdim=True)).item(),
        max_entropy=math.log(p.shape[1]),
    )


def batch_monitors(z: torch.Tensor, z2: torch.Tensor | None = None) -> dict[str, float]:
    """Every label-free monitor of one step's embedding ``[B, D]`` (plus alignment and
    uniformity when the second view's embedding ``z2`` is given). A few ms for B=256, D=512."""
    out = {"embedding_std": embedding_std(z), "effective_rank": effective_rank(z)}
    if z2 is not None:
        out["alignment"] = alignment(z, z2)
        out["uniformity"] = uniformity(z)
    return out


@torch.no_grad()
def dataset_monitors(
    features: torch.Tensor,
    dataset: Any,
    make_views: Callable[[torch.Tensor, torch.Generator], list[torch.Tensor]],
    encode_view: Callable[[torch.Tensor], torch.Tensor],
    max_items: int = 2048,
    batch_size: int = 256,
    device: str | torch.device = "cpu",
    seed: int = 0,
    collate_fn: Callable[[list[Any]], Any] = default_collate,
) -> dict[str, float | int]:
    """Monitors of a whole dataset: std and effective rank of its eval ``features`` ``[N, D]``,
    uniformity of a random ``max_items`` of them, and the alignment of two random views
    (``make_views``, then ``encode_view``) of those items, in raw batches of ``batch_size``
    batched by ``collate_fn`` (the modality's: audio clips are padded)."""
    if max_items < 2:
        raise ValueError(f"max_items must be >= 2, got {max_items}")
    gen = torch.Generator().manual_seed(seed)
    pick = torch.randperm(len(features), generator=gen)[:max_items]
    out: dict[str, float | int] = {
        "embedding_std": embedding_std(features),
        "isotropic_std": 1 / math.sqrt(features.shape[1]),
        "effective_rank": effective_rank(features),
        "max_rank": min(features.shape),
        "uniformity": uniformity(features[pick], max_items=None),
    }
    total, count = 0.0, 0
    loader = DataLoader(Subset(dataset, pick.tolist()), batch_size, collate_fn=collate_fn)
    view_gen = torch.Generator(device=device).manual_seed(seed)
    for batch in loader:
        views = make_views(batch["input"].to(device), view_gen)
        if len(views) < 2:
            raise ValueError("alignment needs an augment that makes at least two views")
        a, b = encode_view(views[0]), encode_view(views[1])
        total += alignment(a, b) * len(a)
        count += len(a)
    out["alignment"] = total / count
    out["items_for_views"] = count
    return out


def _entropy(p: torch.Tensor) -> torch.Tensor:
    return -(p * p.clamp_min(1e-30).log()).sum(dim=1)


def _check_batch(z: torch.Tensor, name: str, min_rows: int = 2) -> None:
    if z.ndim != 2 or z.shape[0] < min_rows or z.shape[1] < 1:
        raise ValueError(f"{name} needs [B, D] with B >= {min_rows}, got {tuple(z.shape)}")

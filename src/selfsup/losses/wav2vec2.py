"""wav2vec 2.0's contrastive task: at each masked frame, pick its quantized target among
distractors drawn from the other masked frames of the same utterance (Baevski et al. 2020).

The loss returns its terms apart (contrastive, weighted diversity, weighted feature penalty)
so the method logs each and sums them; :attr:`Wav2Vec2Terms.total` is that sum.
"""

from __future__ import annotations

import dataclasses

import torch
import torch.nn.functional as F
from torch import nn


@dataclasses.dataclass(frozen=True)
class Distractors:
    """Distractor frames for every masked frame of a ``[B, N]`` mask, in row-major order.

    Attributes:
        rows, frames: long ``[M]``: utterance and frame of each of the ``M`` masked frames.
        index: long ``[M, K]``: frames (of the same utterance) serving as its distractors.
        scored: bool ``[M]``: the utterance has another masked frame; False rows have only
            themselves to draw from, so their ``index`` is meaningless and they are not scored.
    """

    rows: torch.Tensor
    frames: torch.Tensor
    index: torch.Tensor
    scored: torch.Tensor


def sample_distractors(
    mask: torch.Tensor, num: int, generator: torch.Generator | None = None
) -> Distractors:
    """``num`` distractors per masked frame of ``mask`` (bool ``[B, N]``, True = masked),
    uniform with replacement over the OTHER masked frames of the same utterance (fairseq's
    scheme: draw among ``m - 1`` ranks, then step over the frame's own rank)."""
    if mask.dim() != 2 or mask.dtype != torch.bool:
        raise ValueError(f"mask must be a bool [B, N] tensor, got {mask.dtype} {mask.shape}")
    if num < 1:
        raise ValueError(f"the number of distractors must be >= 1, got {num}")
    rows, frames = mask.nonzero(as_tuple=True)  # [M] each, row-major
    per_row = mask.sum(1)  # [B]
    rank = (mask.long().cumsum(1) - 1)[rows, frames]  # [M]: place among its row's masked
    others = (per_row[rows] - 1).clamp(min=1)  # [M]: frames to draw from (>= 1 to divide)
    device = generator.device if generator is not None else mask.device
    u = torch.rand(len(rows), num, generator=generator, device=device).to(mask.device)
    pick = (u * others[:, None]).long().clamp(max=others[:, None] - 1)  # [M, K] in [0, m-2]
    pick = pick + (pick >= rank[:, None]).long()  # skip the frame itself: [0, m-1] \ {rank}
    # Masked frames of each row first, in frame order: rank r of row b is ordered[b, r].
    ordered = torch.argsort((~mask).to(torch.int8), dim=1, stable=True)  # [B, N]
    scored = per_row[rows] > 1
    pick = torch.where(scored[:, None], pick, torch.zeros_like(pick))
    index = ordered[rows[:, None], pick]  # [M, K]
    return Distractors(rows, frames, index, scored)


def contrastive_logits(
    context: torch.Tensor, positive: torch.Tensor, negatives: torch.Tensor, temperature: float
) -> torch.Tensor:
    """``[M, 1 + K]`` cosine similarities / ``temperature``, the positive in column 0.

    ``context, positive: [M, D]``, ``negatives: [M, K, D]``. A distractor equal to its positive
    (the quantizer picked the same codewords) would be a second right answer: its logit is
    -inf, as in fairseq.
    """
    candidates = torch.cat([positive[:, None], negatives], dim=1).float()  # [M, 1 + K, D]
    logits = F.cosine_similarity(context.float()[:, None], candidates, dim=-1) / temperature
    same = (negatives == positive[:, None]).all(-1)  # [M, K]
    return torch.cat([logits[:, :1], logits[:, 1:].masked_fill(same, float("-inf"))], dim=1)


def feature_penalty(features: torch.Tensor, valid: torch.Tensor | None = None) -> torch.Tensor:
    """Mean square of the local features ``[B, N, C]`` over the ``valid`` frames (all if None)."""
    if valid is None:
        return features.float().pow(2).mean()
    squares = features.float().pow(2).mean(-1)  # [B, N]
    return (squares * valid).sum() / valid.sum().clamp(min=1)


@dataclasses.dataclass(frozen=True)
class Wav2Vec2Terms:
    """The loss terms (already weighted) and how often the positive won.

    Attributes:
        contrastive: mean cross-entropy over the scored masked frames.
        diversity: ``diversity_weight * diversity_loss`` (0 when none was given).
        feature_penalty: ``penalty_weight * mean(features ** 2)`` (0 when none were given).
        accuracy: fraction of scored frames whose positive had the largest logit.
        scored: number of masked frames that had distractors.
        per_utterance: ``[B]`` each utterance's mean cross-entropy over its scored frames
            (0 where it has none): the per-sample loss self-paced learning weights.
    """

    contrastive: torch.Tensor
    diversity: torch.Tensor
    feature_penalty: torch.Tensor
    accuracy: torch.Tensor
    scored: int
    per_utterance: torch.Tensor | None = None

    @property
    def total(self) -> torch.Tensor:
        """The training loss: the sum of the three terms."""
        return self.contrastive + self.diversity + self.feature_penalty


class Wav2Vec2Loss(nn.Module):
    """Contrastive loss + diversity + feature penalty of wav2vec 2.0 (paper: K = 100,
    temperature 0.1, diversity weight 0.1, penalty weight 10).

    Nothing is detached: the targets' gradient trains the quantizer, as in the paper.
    """

    def __init__(
        self,
        num_distractors: int = 100,
        temperature: float = 0.1,
        diversity_weight: float = 0.1,
        penalty_weight: float = 10.0,
    ) -> None:
        super().__init__()
        if num_distractors < 1 or not temperature > 0:
            raise ValueError(
                f"Wav2Vec2Loss needs num_distractors >= 1 and temperature > 0, got "
                f"{num_distractors} and {temperature}"
            )
        self.num_distractors, self.temperature = num_distractors, float(temperature)
        self.diversity_weight, self.penalty_weight = diversity_weight, penalty_weight

    def forward(
        self,
        context: torch.Tensor,
        targets: torch.Tensor,
        mask: torch.Tensor,
        diversity_loss: torch.Tensor | None = None,
        features: torch.Tensor | None = None,
        valid: torch.Tensor | None = None,
        generator: torch.Generator | None = None,
    ) -> Wav2Vec2Terms:
        """``context`` (transformer outputs) and ``targets`` (quantized local features): both
        ``[B, N, D]``; ``mask`` bool ``[B, N]`` the masked frames (never padding);
        ``features [B, N, C]`` and ``valid [B, N]`` for the penalty."""
        if context.dim() != 3 or context.shape != targets.shape:
            raise ValueError(
                f"context and targets must be one [B, N, D] shape, got {tuple(context.shape)} "
                f"and {tuple(targets.shape)}"
            )
        if mask.shape != context.shape[:2]:
            raise ValueError(f"mask must be [B, N] = {tuple(context.shape[:2])}, got {mask.shape}")
        if valid is not None and bool((mask & ~valid).any()):
            raise ValueError("the mask covers padding frames: mask only valid frames")
        picks = sample_distractors(mask, self.num_distractors, generator)
        rows, frames = picks.rows[picks.scored], picks.frames[picks.scored]
        positive = targets[rows, frames]  # [M, D]
        negatives = targets[rows[:, None], picks.index[picks.scored]]  # [M, K, D]
        logits = contrastive_logits(context[rows, frames], positive, negatives, self.temperature)
        zero = context.sum() * 0.0  # keeps the graph when nothing is scored
        per_utterance = zero.float().expand(context.shape[0]).clone()
        if len(rows):
            target = torch.zeros(len(rows), dtype=torch.long, device=logits.device)
            per_frame = F.cross_entropy(logits, target, reduction="none")  # [M]
            contrastive = per_frame.mean()
            accuracy = (logits.argmax(1) == 0).float().mean().detach()
            counts = torch.bincount(rows, minlength=context.shape[0]).clamp(min=1)
            per_utterance = per_utterance.index_add(0, rows, per_frame) / counts
        else:
            contrastive, accuracy = zero, zero.detach()
        diversity = zero if diversity_loss is None else self.diversity_weight * diversity_loss
        penalty = (
            zero if features is None else self.penalty_weight * feature_penalty(features, valid)
        )
        return Wav2Vec2Terms(contrastive, diversity, penalty, accuracy, len(rows), per_utterance)

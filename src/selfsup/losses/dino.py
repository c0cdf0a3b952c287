"""DINO's self-distillation loss and collapse statistics of its teacher targets."""

from __future__ import annotations

import math
from collections.abc import Sequence

import torch
from torch import nn


class DINOLoss(nn.Module):
    """Cross-entropy ``H(P_t, P_s)`` between teacher targets and student predictions, averaged
    over every (teacher view i, student view j != i) pair and the batch (Caron et al., 2021).

    ``teacher_probs[i]`` belongs to view i: the teacher sees the first ``len(teacher_probs)``
    views (the global crops), the student sees all of them, local crops included. Targets come
    from :class:`~selfsup.nn.centering.TeacherCentering` (centred, sharpened, no gradient).

    Args:
        student_temp: temperature of the student softmax (paper: 0.1).
    """

    def __init__(self, student_temp: float = 0.1) -> None:
        super().__init__()
        if not student_temp > 0:
            raise ValueError(f"DINOLoss student_temp must be > 0, got {student_temp}")
        self.student_temp = float(student_temp)

    def forward(
        self, student_logits: Sequence[torch.Tensor], teacher_probs: Sequence[torch.Tensor]
    ) -> torch.Tensor:
        """Mean cross-entropy; ``student_logits``: V tensors ``[B, K]``, ``teacher_probs``: T."""
        if not 1 <= len(teacher_probs) <= len(student_logits) or len(student_logits) < 2:
            raise ValueError(
                f"DINOLoss needs >= 2 student views and 1..{len(student_logits)} teacher "
                f"views, got {len(student_logits)} and {len(teacher_probs)}"
            )
        shape = teacher_probs[0].shape
        if len(shape) != 2 or any(t.shape != shape for t in [*student_logits, *teacher_probs]):
            raise ValueError(
                "DINOLoss expects every tensor of one shape [B, K], got "
                f"{[tuple(t.shape) for t in [*student_logits, *teacher_probs]]}"
            )
        log_p = [torch.log_softmax(s.float() / self.student_temp, dim=-1) for s in student_logits]
        terms = [
            -(q.detach() * log_p[j]).sum(dim=-1).mean()  # [B] -> scalar
            for i, q in enumerate(teacher_probs)
            for j in range(len(log_p))
            if j != i  # a view never predicts its own target
        ]
        return torch.stack(terms).mean()


@torch.no_grad()
def teacher_stats(probs: torch.Tensor) -> dict[str, torch.Tensor]:
    """Collapse monitors of teacher targets ``probs [M, K]`` (rows sum to 1).

    - ``teacher_entropy``: mean per-row entropy; near ``log K`` means uniform targets.
    - ``teacher_mean_entropy``: entropy of the batch-mean distribution (``log K`` minus its KL
      to uniform); near 0 means every sample picks the same prototype.
    - ``teacher_information``: ``teacher_mean_entropy - teacher_entropy``, the mutual
      information between sample and prototype; near 0 means every sample gets the same target
      (collapse of any kind: uniform, one-hot or in between).
    """
    if probs.ndim != 2 or probs.shape[0] < 1:
        raise ValueError(f"teacher_stats expects probabilities [M, K], got {tuple(probs.shape)}")
    p = probs.float()
    row_entropy = -(p * p.clamp_min(1e-12).log()).sum(dim=1).mean()
    mean = p.mean(dim=0)
    mean_entropy = -(mean * mean.clamp_min(1e-12).log()).sum()
    return {
        "teacher_entropy": row_entropy,
        "teacher_mean_entropy": mean_entropy,
        "teacher_information": (mean_entropy - row_entropy).clamp_min(0.0),
    }


def collapse_kind(stats: dict[str, torch.Tensor], num_prototypes: int, tol: float = 0.05) -> str:
    """``"none"``, ``"uniform"``, ``"one-prototype"`` or ``"constant"`` from
    :func:`teacher_stats` output.

    Collapse means the targets carry almost no information about the sample:
    ``teacher_information < tol * log K``. It is then named by the per-sample entropy: above
    ``(1 - tol) log K`` uniform, below ``tol log K`` one prototype, otherwise a constant
    distribution in between.
    """
    if num_prototypes < 2 or not 0 < tol < 0.5:
        raise ValueError(
            f"collapse_kind needs num_prototypes >= 2 and tol in (0, 0.5), got "
            f"{num_prototypes} and {tol}"
        )
    log_k = math.log(num_prototypes)
    if float(stats["teacher_information"]) >= tol * log_k:
        return "none"
    entropy = float(stats["teacher_entropy"])
    if entropy > (1 - tol) * log_k:
        return "uniform"
    return "one-prototype" if entropy < tol * log_k else "constant"

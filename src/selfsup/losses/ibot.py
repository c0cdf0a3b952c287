"""iBOT's masked patch-token self-distillation loss (Zhou et al., 2022; also in DINOv2)."""

from __future__ import annotations

import torch
from torch import nn


class IBOTPatchLoss(nn.Module):
    """Cross-entropy between teacher patch targets and student patch predictions, counted only
    at masked positions: per image the mean over its masked patches, then the mean over images
    (an image without masked patches adds 0, as in iBOT).

    The student saw the masked image (mask tokens in place of the patches), the teacher the
    intact one, so the student must recover the teacher's view of the hidden content.

    Args:
        student_temp: temperature of the student softmax (iBOT: 0.1).
    """

    def __init__(self, student_temp: float = 0.1) -> None:
        super().__init__()
        if not student_temp > 0:
            raise ValueError(f"IBOTPatchLoss student_temp must be > 0, got {student_temp}")
        self.student_temp = float(student_temp)

    def forward(
        self, student_logits: torch.Tensor, teacher_probs: torch.Tensor, mask: torch.Tensor
    ) -> torch.Tensor:
        """Loss of ``student_logits [B, N, K]`` against ``teacher_probs [B, N, K]`` at
        ``mask [B, N]`` (bool, True = masked)."""
        if student_logits.ndim != 3 or teacher_probs.shape != student_logits.shape:
            raise ValueError(
                "IBOTPatchLoss expects student logits and teacher probs of one shape "
                f"[B, N, K], got {tuple(student_logits.shape)} and {tuple(teacher_probs.shape)}"
            )
        if mask.dtype != torch.bool or mask.shape != student_logits.shape[:2]:
            raise ValueError(
                f"IBOTPatchLoss mask must be bool {list(student_logits.shape[:2])}, got "
                f"{mask.dtype} {list(mask.shape)}"
            )
        log_p = torch.log_softmax(student_logits.float() / self.student_temp, dim=-1)
        ce = -(teacher_probs.detach() * log_p).sum(dim=-1)  # [B, N]
        m = mask.to(ce.dtype)
        per_image = (ce * m).sum(dim=1) / m.sum(dim=1).clamp(min=1.0)  # [B]
        return per_image.mean()

"""Teacher targets for self-distillation: centre the teacher's logits, then sharpen them.

DINO avoids collapse with two opposite forces: subtracting an EMA *centre* of the teacher's
logits keeps one prototype from dominating, and a low teacher temperature (*sharpening*) keeps
the targets from going uniform. DINOv2 can replace the centre by Sinkhorn-Knopp equipartition.
"""

from __future__ import annotations

from typing import Literal

import torch
import torch.distributed as dist
from torch import nn

from selfsup.nn.gather import world_size
from selfsup.nn.sinkhorn import sinkhorn

CenteringMode = Literal["ema", "sinkhorn", "none"]
MODES = ("ema", "sinkhorn", "none")


class TeacherCentering(nn.Module):
    """``logits [..., K] -> targets [..., K]`` (rows sum to 1, no gradient).

    ``"ema"``: ``softmax((logits - center) / T)``, then (in training mode) the centre moves to
    ``m * center + (1 - m) * mean(logits)`` where the mean is over every row of every rank.
    ``"sinkhorn"``: Sinkhorn-Knopp codes of ``logits / T`` (equal prototype use over the global
    batch). ``"none"``: plain ``softmax(logits / T)`` (only for ablations: it collapses).

    Args:
        dim: number of prototypes K.
        mode: ``"ema"``, ``"sinkhorn"`` or ``"none"``.
        momentum: EMA momentum of the centre (DINO: 0.9).
        sinkhorn_iterations: Sinkhorn-Knopp rounds (DINOv2: 3).
    """

    def __init__(
        self,
        dim: int,
        mode: CenteringMode = "ema",
        momentum: float = 0.9,
        sinkhorn_iterations: int = 3,
    ) -> None:
        super().__init__()
        if mode not in MODES:
            raise ValueError(f"centering must be one of {list(MODES)}, got {mode!r}")
        if not 0.0 <= momentum <= 1.0 or sinkhorn_iterations < 1 or dim < 1:
            raise ValueError(
                "TeacherCentering needs dim >= 1, momentum in [0, 1] and sinkhorn_iterations "
                f">= 1, got {dim}, {momentum} and {sinkhorn_iterations}"
            )
        self.mode = mode
        self.momentum = float(momentum)
        self.sinkhorn_iterations = sinkhorn_iterations
        self.register_buffer("center", torch.zeros(dim))
        self.center: torch.Tensor

    @torch.no_grad()
    def forward(self, logits: torch.Tensor, temperature: float) -> torch.Tensor:
        """Targets for ``logits [..., K]`` at teacher ``temperature``; updates the EMA centre."""
        if logits.shape[-1] != self.center.shape[0]:
            raise ValueError(
                f"TeacherCentering expects {self.center.shape[0]} logits per row, "
                f"got shape {tuple(logits.shape)}"
            )
        if not temperature > 0:
            raise ValueError(f"teacher temperature must be > 0, got {temperature}")
        flat = logits.detach().float().reshape(-1, logits.shape[-1])  # [M, K]
        if self.mode == "sinkhorn":
            if flat.shape[0] == 0:
                return torch.zeros_like(logits, dtype=torch.float32)
            return sinkhorn(flat, temperature, self.sinkhorn_iterations).reshape(logits.shape)
        center = self.center if self.mode == "ema" else torch.zeros_like(self.center)
        targets = torch.softmax((flat - center) / temperature, dim=-1)
        if self.mode == "ema" and self.training:
            self.update(flat)
        return targets.reshape(logits.shape)

    @torch.no_grad()
    def update(self, logits: torch.Tensor) -> None:
        """``center <- m * center + (1 - m) * mean of the rows of logits over all ranks``."""
        flat = logits.detach().float().reshape(-1, logits.shape[-1])
        total = flat.sum(dim=0)  # [K]
        count = torch.tensor(float(flat.shape[0]), device=flat.device)
        if world_size() > 1:
            dist.all_reduce(total)
            dist.all_reduce(count)
        moved = self.momentum * self.center + (1.0 - self.momentum) * total / count.clamp(min=1)
        self.center.copy_(torch.where(count > 0, moved, self.center))  # no rows: keep (no sync)

"""data2vec for images (Baevski et al., 2022): a masked student regresses an EMA teacher's
averaged, normalised top-K layer outputs at the masked patches."""

from __future__ import annotations

from typing import ClassVar, Literal

import torch
import torch.nn.functional as F
from torch import nn

from selfsup.backbones.base import Backbone
from selfsup.backbones.vit import ViTBackbone, as_vit
from selfsup.methods.base import Batch, Method
from selfsup.methods.registry import register_method
from selfsup.nn.ema_teacher import EMATeacher
from selfsup.nn.layer_targets import layer_targets
from selfsup.nn.masking import block_masking

RegressionLoss = Literal["l2", "smooth_l1"]


@register_method("data2vec", tiny={"backbone": "vit_tiny", "args": {"top_k": 2}})
class Data2Vec(Method):
    """ViT student on block-masked views; EMA teacher (backbone only) on the intact views.

    Each view of the augment is one sample for both networks (data2vec's student and teacher
    see the same crop). Targets: :func:`~selfsup.nn.layer_targets.layer_targets` of the
    teacher's last ``top_k`` block outputs (patch tokens, each instance-normalised, averaged).
    A linear head on the student's final patch tokens regresses them; the loss (L2 or smooth
    L1) counts masked positions only.

    Args:
        backbone: the student ViT being pretrained.
        augment: makes the views (e.g. ``simclr`` with weak colour, or any crop recipe).
        top_k: teacher blocks averaged into the target (paper: 6 of ViT-B's 12).
        mask_ratio: fraction of patches block-masked per image (paper: 0.6).
        loss: ``"l2"`` (paper, images) or ``"smooth_l1"`` with ``loss_beta``.
        momentum_base / momentum_final / momentum_anneal_steps: teacher decay, linear
            ``base -> final`` over the anneal steps, then constant (paper: 0.999 -> 0.9999).
    """

    requires_tokens: ClassVar[bool] = True
    schedulable: ClassVar[dict[str, tuple[float, float]]] = {"mask_ratio": (0.0, 1.0)}

    def __init__(
        self,
        backbone: Backbone,
        augment: nn.Module,
        *,
        top_k: int = 6,
        mask_ratio: float = 0.6,
        loss: RegressionLoss = "l2",
        loss_beta: float = 2.0,
        momentum_base: float = 0.999,
        momentum_final: float = 0.9999,
        momentum_anneal_steps: int = 100000,
    ) -> None:
        super().__init__(backbone, augment)
        backbone = as_vit(backbone, "data2vec")
        depth = len(backbone.model.blocks)
        if not 1 <= top_k <= depth:
            raise ValueError(f"data2vec top_k must be in [1, {depth}] (the depth), got {top_k}")
        if not 0.0 < mask_ratio < 1.0:
            raise ValueError(f"data2vec mask_ratio must be in (0, 1), got {mask_ratio}")
        if loss not in ("l2", "smooth_l1") or not loss_beta > 0:
            raise ValueError(f"data2vec loss must be 'l2' or 'smooth_l1' with beta > 0, got {loss}")
        self.regression_head = nn.Linear(backbone.feature_dim, backbone.feature_dim)
        self.ema = EMATeacher(
            "linear", momentum_base, momentum_final, momentum_anneal_steps, owner="data2vec"
        )
        self.teacher_backbone = self.ema.track(backbone)
        self.top_k, self.mask_ratio = top_k, mask_ratio
        self.loss_kind, self.loss_beta = loss, float(loss_beta)

    @property
    def vit(self) -> ViTBackbone:
        """``backbone``, typed as the ViT it was checked to be."""
        return as_vit(self.backbone, "data2vec")

    def mask(self, x: torch.Tensor, generator: torch.Generator | None) -> torch.Tensor:
        """Block mask ``[B, h * w]`` (True = masked) for images ``x``."""
        h, w = self.vit.grid_for(x.shape[-2], x.shape[-1])
        return block_masking(x.shape[0], h, w, self.mask_ratio, generator).to(x.device)

    @torch.no_grad()
    def targets(self, x: torch.Tensor) -> torch.Tensor:
        """Teacher targets ``[B, N, D]`` of the intact images ``x``."""
        teacher = self.teacher_backbone
        assert isinstance(teacher, ViTBackbone)
        p = teacher.num_prefix_tokens
        blocks = teacher.forward_block_outputs(x)  # depth x [B, P + N, D], before the final norm
        return layer_targets([b[:, p:] for b in blocks], self.top_k)

    def training_step(
        self, batch: Batch, generator: torch.Generator | None = None
    ) -> dict[str, torch.Tensor]:
        views = self.views(batch, generator)
        x = torch.cat(views) if len({v.shape for v in views}) == 1 else views[0]
        mask = self.mask(x, generator)  # [B, N]
        vit = self.vit
        tokens = vit.forward_tokens(x, token_mask=mask)  # [B, P + N, D]
        p = vit.num_prefix_tokens
        pred = self.regression_head(tokens[:, p:][mask])  # [M, D]
        target = self.targets(x)[mask]  # [M, D]
        if self.loss_kind == "l2":
            loss = F.mse_loss(pred.float(), target)
        else:
            loss = F.smooth_l1_loss(pred.float(), target, beta=self.loss_beta)
        n = views[0].shape[0]
        return {
            "loss": loss,
            "embedding": tokens[:n, 0].detach(),
            "target_std": target.std(dim=0).mean(),
            "momentum": torch.tensor(self.ema.momentum),
        }

    def on_step_end(self, step: int, max_steps: int) -> None:
        """Move the teacher towards the student with this step's decay."""
        self.ema.step(step, max_steps)

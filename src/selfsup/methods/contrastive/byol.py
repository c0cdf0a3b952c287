"""BYOL (Grill et al., 2020): an online network predicts an EMA target's projection of the
other view; no negatives."""

from __future__ import annotations

import torch
from torch import nn

from selfsup.backbones.base import Backbone
from selfsup.losses.neg_cosine import NegativeCosineSimilarity
from selfsup.methods.base import VIEW_MODALITIES, Batch, Method
from selfsup.methods.registry import register_method
from selfsup.nn.ema_teacher import EMATeacher
from selfsup.nn.heads import BYOLPredictionHead, BYOLProjectionHead


@register_method("byol", tiny={"backbone": "resnet_tiny"})
class BYOL(Method):
    """Online backbone -> projector -> predictor; target = EMA copy of backbone + projector.

    Each view goes through the networks separately (as in the paper), so BatchNorm statistics
    never mix the two views of one image. The loss is the paper's symmetrised normalised MSE,
    ``sum over both directions of 2 - 2 cos(p, z_target)``. After every optimizer step the
    target moves towards the online weights with momentum ``tau`` rising from
    ``momentum_base`` to ``momentum_final`` on a cosine over the run. Multi-GPU runs should set
    ``train.sync_batchnorm=true`` so BN sees the global batch.

    Args:
        backbone: the online encoder being pretrained (its features are the representation).
        augment: makes the two views (the ``byol`` recipe is the paper's asymmetric pair).
        proj_hidden_dim / proj_out_dim: projector sizes (paper: 4096 -> 256).
        pred_hidden_dim: predictor hidden size (paper: 4096).
        momentum_base / momentum_final: target EMA momentum at the first / last step
            (paper: 0.996 -> 1).
    """

    modality = VIEW_MODALITIES

    def __init__(
        self,
        backbone: Backbone,
        augment: nn.Module,
        *,
        proj_hidden_dim: int = 4096,
        proj_out_dim: int = 256,
        pred_hidden_dim: int = 4096,
        momentum_base: float = 0.996,
        momentum_final: float = 1.0,
    ) -> None:
        super().__init__(backbone, augment)
        self.ema = EMATeacher("cosine", momentum_base, momentum_final, owner="BYOL")
        self.projector = BYOLProjectionHead(backbone.feature_dim, proj_hidden_dim, proj_out_dim)
        self.predictor = BYOLPredictionHead(proj_out_dim, pred_hidden_dim, proj_out_dim)
        self.target_backbone = self.ema.track(backbone)
        self.target_projector = self.ema.track(self.projector)
        self.criterion = NegativeCosineSimilarity()

    def training_step(
        self, batch: Batch, generator: torch.Generator | None = None
    ) -> dict[str, torch.Tensor]:
        view_a, view_b = self.views(batch, generator)
        h_a = self.backbone.forward_features(view_a)  # [N, D]
        p_a = self.predictor(self.projector(h_a))  # [N, out]
        p_b = self.predictor(self.projector(self.backbone.forward_features(view_b)))
        with torch.no_grad():
            t_a = self.target_projector(self.target_backbone.forward_features(view_a))
            t_b = self.target_projector(self.target_backbone.forward_features(view_b))
        # 2 - 2 cos(p, t) per direction: view a predicts view b's target and vice versa.
        loss = (2 + 2 * self.criterion(p_a, t_b)) + (2 + 2 * self.criterion(p_b, t_a))
        return {
            "loss": loss,
            "embedding": h_a.detach(),
            "momentum": torch.tensor(self.ema.momentum),  # the tau of the latest update
        }

    def on_step_end(self, step: int, max_steps: int) -> None:
        """Move the target towards the online network with this step's ``tau``."""
        self.ema.step(step, max_steps)

"""SimSiam (Chen & He, 2021): a siamese network with a predictor and a stop-gradient; no
negatives and no momentum encoder."""

from __future__ import annotations

import torch
from torch import nn

from selfsup.backbones.base import Backbone
from selfsup.losses.neg_cosine import NegativeCosineSimilarity
from selfsup.methods.base import VIEW_MODALITIES, Batch, Method
from selfsup.methods.registry import register_method
from selfsup.nn.heads import SimSiamPredictionHead, SimSiamProjectionHead


@register_method("simsiam", tiny={"backbone": "resnet_tiny"})
class SimSiam(Method):
    """Loss ``D(p_a, sg(z_b)) / 2 + D(p_b, sg(z_a)) / 2`` with ``D`` the negative cosine.

    The stop-gradient (``detach`` of the projections used as targets) is what prevents
    collapse. Each view is encoded separately so BN statistics never mix the two views. The paper
    keeps the predictor's learning rate fixed (no decay); here it follows the common schedule.

    Args:
        backbone: the encoder being pretrained.
        augment: makes the two views (SimSiam uses the symmetric SimCLR/MoCo v2 recipe).
        proj_hidden_dim / proj_out_dim: projector sizes (paper: 2048 / 2048).
        proj_layers: 3 (ImageNet) or 2 (the paper's CIFAR runs).
        pred_hidden_dim: the predictor's bottleneck (paper: 512).
        stop_gradient: detach the target projections. False only for the collapse ablation of
            the paper (Fig. 2): without it the outputs collapse to a constant within few steps.
    """

    modality = VIEW_MODALITIES

    def __init__(
        self,
        backbone: Backbone,
        augment: nn.Module,
        *,
        proj_hidden_dim: int = 2048,
        proj_out_dim: int = 2048,
        proj_layers: int = 3,
        pred_hidden_dim: int = 512,
        stop_gradient: bool = True,
    ) -> None:
        super().__init__(backbone, augment)
        self.projector = SimSiamProjectionHead(
            backbone.feature_dim, proj_hidden_dim, proj_out_dim, num_layers=proj_layers
        )
        self.predictor = SimSiamPredictionHead(proj_out_dim, pred_hidden_dim, proj_out_dim)
        self.criterion = NegativeCosineSimilarity()
        self.stop_gradient = stop_gradient

    def training_step(
        self, batch: Batch, generator: torch.Generator | None = None
    ) -> dict[str, torch.Tensor]:
        view_a, view_b = self.views(batch, generator)
        h_a = self.backbone.forward_features(view_a)  # [N, D]
        z_a = self.projector(h_a)  # [N, out]
        z_b = self.projector(self.backbone.forward_features(view_b))
        p_a, p_b = self.predictor(z_a), self.predictor(z_b)
        target_a, target_b = (z_a.detach(), z_b.detach()) if self.stop_gradient else (z_a, z_b)
        loss = 0.5 * (self.criterion(p_a, target_b) + self.criterion(p_b, target_a))
        # Std of the normalised projections: ~1/sqrt(out) when healthy, 0 when collapsed.
        z_std = torch.nn.functional.normalize(z_a.detach(), dim=1).std(dim=0).mean()
        return {"loss": loss, "embedding": h_a.detach(), "z_std": z_std}

"""Barlow Twins (Zbontar et al., 2021): two views whose embeddings' cross-correlation -> I."""

from __future__ import annotations

import torch
from torch import nn

from selfsup.backbones.base import Backbone
from selfsup.losses.barlow_twins import BarlowTwinsLoss
from selfsup.methods.base import VIEW_MODALITIES, Batch, Method
from selfsup.methods.registry import register_method
from selfsup.nn.projectors import BarlowTwinsProjectionHead


@register_method("barlow_twins", tiny={"backbone": "resnet_tiny"})
class BarlowTwins(Method):
    """Representation = backbone features before the projector; no negatives, no teacher.

    Args:
        backbone: the encoder being pretrained.
        augment: makes the two views from a raw uint8 batch (on the batch's device).
        lambda_offdiag: weight of the off-diagonal (redundancy) term; paper 5.1e-3 at D = 8192.
        proj_hidden_dim / proj_out_dim: the 3-layer projector. The paper uses 8192 / 8192;
            the defaults (2048 / 2048) are the usual CIFAR-10 sizes with ResNet-18.
        gather: standardise and correlate over the global batch under DDP.
    """

    modality = VIEW_MODALITIES

    def __init__(
        self,
        backbone: Backbone,
        augment: nn.Module,
        *,
        lambda_offdiag: float = 5e-3,
        proj_hidden_dim: int = 2048,
        proj_out_dim: int = 2048,
        gather: bool = True,
    ) -> None:
        super().__init__(backbone, augment)
        self.head = BarlowTwinsProjectionHead(backbone.feature_dim, proj_hidden_dim, proj_out_dim)
        self.loss = BarlowTwinsLoss(lambda_offdiag=lambda_offdiag, gather=gather)

    def training_step(
        self, batch: Batch, generator: torch.Generator | None = None
    ) -> dict[str, torch.Tensor]:
        view_a, view_b = self.views(batch, generator)
        # One pass per view, not one over [2N]: every BatchNorm (backbone and projector) then
        # normalises each view with its own batch statistics, as the paper's recipe does.
        h_a = self.backbone.forward_features(view_a)  # [N, D]
        z_a = self.head(h_a)  # [N, out]
        z_b = self.head(self.backbone.forward_features(view_b))  # [N, out]
        loss = self.loss(z_a, z_b)
        return {"loss": loss, "embedding": h_a.detach()}

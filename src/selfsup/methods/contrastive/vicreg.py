"""VICReg (Bardes et al., 2022): invariance, variance and covariance terms on two views."""

from __future__ import annotations

import torch
from torch import nn

from selfsup.backbones.base import Backbone
from selfsup.losses.vicreg import VICRegLoss
from selfsup.methods.base import VIEW_MODALITIES, Batch, Method
from selfsup.methods.registry import register_method
from selfsup.nn.projectors import VICRegProjectionHead


@register_method("vicreg", tiny={"backbone": "resnet_tiny"})
class VICReg(Method):
    """Representation = backbone features before the expander; no negatives, no teacher.

    Args:
        backbone: the encoder being pretrained.
        augment: makes the two views from a raw uint8 batch (on the batch's device).
        sim_weight / var_weight / cov_weight: loss weights λ, μ, ν (paper: 25, 25, 1).
        proj_hidden_dim / proj_out_dim: the 3-layer expander. The paper uses 8192 / 8192;
            the defaults (2048 / 2048) are the usual CIFAR-10 sizes with ResNet-18.
        gather: variance and covariance over the global batch under DDP.

    Besides ``loss`` and ``embedding``, ``training_step`` returns the three unweighted terms
    (``invariance``, ``variance``, ``covariance``, detached) for logging: a variance term near
    1 means the embeddings are collapsing.
    """

    modality = VIEW_MODALITIES

    def __init__(
        self,
        backbone: Backbone,
        augment: nn.Module,
        *,
        sim_weight: float = 25.0,
        var_weight: float = 25.0,
        cov_weight: float = 1.0,
        proj_hidden_dim: int = 2048,
        proj_out_dim: int = 2048,
        gather: bool = True,
    ) -> None:
        super().__init__(backbone, augment)
        self.head = VICRegProjectionHead(backbone.feature_dim, proj_hidden_dim, proj_out_dim)
        self.loss = VICRegLoss(
            sim_weight=sim_weight, var_weight=var_weight, cov_weight=cov_weight, gather=gather
        )

    def training_step(
        self, batch: Batch, generator: torch.Generator | None = None
    ) -> dict[str, torch.Tensor]:
        view_a, view_b = self.views(batch, generator)
        # One pass per view so every BatchNorm sees each view's own statistics (paper recipe).
        h_a = self.backbone.forward_features(view_a)  # [N, D]
        z_a = self.head(h_a)  # [N, out]
        z_b = self.head(self.backbone.forward_features(view_b))  # [N, out]
        terms = self.loss.terms(z_a, z_b)
        loss = self.loss.weighted_sum(terms)
        logged = {name: value.detach() for name, value in terms.items()}
        return {"loss": loss, "embedding": h_a.detach(), **logged}

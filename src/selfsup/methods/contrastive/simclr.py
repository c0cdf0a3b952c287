"""SimCLR (Chen et al., 2020): two views (or multi-crop), a projection head, NT-Xent."""

from __future__ import annotations

from typing import ClassVar

import torch
from torch import nn

from selfsup.backbones.base import Backbone
from selfsup.losses.nt_xent import NTXentLoss
from selfsup.methods.base import VIEW_MODALITIES, Batch, Method, encode_by_shape
from selfsup.methods.registry import register_method
from selfsup.nn.heads import SimCLRProjectionHead


@register_method("simclr", tiny={"backbone": "resnet_tiny"})
class SimCLR(Method):
    """Representation = backbone features before the head; the head only serves the loss.

    With a multi-crop augment (two global crops, then small local ones) every view's positives
    are the other views of its image (``NTXentLoss`` with more than two views): the small crops
    add positives for a fraction of a global view's cost.

    Args:
        backbone: the encoder being pretrained.
        augment: makes the views (two, or multi-crop) from a raw uint8 batch, on its device.
        temperature: NT-Xent temperature (0.5 in the paper's CIFAR runs, 0.1-0.2 at ImageNet).
        proj_hidden_dim / proj_out_dim: the 2-layer MLP head (paper: 2048 -> 128).
        gather: use negatives from all DDP ranks (gradients flow back to every rank).
    """

    modality = VIEW_MODALITIES
    reports_sample_loss: ClassVar[bool] = True

    def __init__(
        self,
        backbone: Backbone,
        augment: nn.Module,
        temperature: float = 0.5,
        proj_hidden_dim: int = 2048,
        proj_out_dim: int = 128,
        gather: bool = True,
    ) -> None:
        super().__init__(backbone, augment)
        self.head = SimCLRProjectionHead(backbone.feature_dim, proj_hidden_dim, proj_out_dim)
        self.loss = NTXentLoss(temperature=temperature, gather=gather)

    def training_step(
        self, batch: Batch, generator: torch.Generator | None = None
    ) -> dict[str, torch.Tensor]:
        views = self.views(batch, generator)
        if len(views) < 2:
            raise ValueError(f"SimCLR needs at least 2 views, the augment gave {len(views)}")
        n = views[0].shape[0]
        # One backbone pass per crop size: [V*N, C, H, W] -> [V*N, D] -> [V*N, out].
        h = encode_by_shape(self.backbone.forward_features, views)
        z = self.head(h)
        sample_loss = self.loss(*z.split(n), per_sample=True)
        return {"loss": sample_loss.mean(), "sample_loss": sample_loss, "embedding": h[:n].detach()}

"""NNCLR (Dwibedi et al., 2021): the positive of a view is its nearest neighbour in a support
set of past projections, contrasted against the other view's prediction."""

from __future__ import annotations

import torch
import torch.nn.functional as F
from torch import nn

from selfsup.backbones.base import Backbone
from selfsup.losses.info_nce import InfoNCELoss
from selfsup.methods.base import VIEW_MODALITIES, Batch, Method
from selfsup.methods.registry import register_method
from selfsup.nn.heads_extra import NNCLRPredictionHead, NNCLRProjectionHead
from selfsup.nn.neighbors import nearest_neighbors
from selfsup.nn.queue import MemoryQueue


@register_method("nnclr", tiny={"backbone": "resnet_tiny"})
class NNCLR(Method):
    """Backbone -> projector ``z`` -> predictor ``p``; loss ``L(NN(z_a), p_b) + L(NN(z_b), p_a)``.

    ``NN(z)`` is the support-set row most cosine-similar to ``z`` (no gradient flows through it).
    ``L`` is InfoNCE with in-batch negatives: neighbour i must pick prediction i among the
    predictions of the global batch (every DDP rank's, gradients sent home). The two directions
    are averaged. After the loss, the first view's normalised projections (from every rank) are
    pushed into the support set. While the support set is still empty (the first step) a view's
    own projection stands in for its neighbour, with gradient, which is plain SimCLR-with-
    predictor for that step.

    Each view goes through the network separately, so BatchNorm never mixes the two views of one
    image; multi-GPU runs should set ``train.sync_batchnorm=true``.

    Args:
        backbone: the encoder being pretrained.
        augment: makes the two views (the paper uses BYOL's asymmetric pair).
        temperature: InfoNCE temperature (paper: 0.1).
        queue_size: support-set size (paper: 98,304 at ImageNet; 16,384 is about a third of a
            CIFAR-10 epoch, so neighbours stay recent).
        proj_hidden_dim / proj_out_dim / proj_layers: projector (paper: 3 layers, 2048 -> 256).
        pred_hidden_dim: predictor hidden size (paper: 4096; output = ``proj_out_dim``).
        gather: use the other DDP ranks' predictions as negatives.
    """

    modality = VIEW_MODALITIES

    def __init__(
        self,
        backbone: Backbone,
        augment: nn.Module,
        *,
        temperature: float = 0.1,
        queue_size: int = 16384,
        proj_hidden_dim: int = 2048,
        proj_out_dim: int = 256,
        proj_layers: int = 3,
        pred_hidden_dim: int = 4096,
        gather: bool = True,
    ) -> None:
        super().__init__(backbone, augment)
        self.projector = NNCLRProjectionHead(
            backbone.feature_dim, proj_hidden_dim, proj_out_dim, num_layers=proj_layers
        )
        self.predictor = NNCLRPredictionHead(proj_out_dim, pred_hidden_dim, proj_out_dim)
        self.support = MemoryQueue(queue_size, proj_out_dim)
        self.criterion = InfoNCELoss(temperature=temperature, gather=gather)

    def neighbours(self, z: torch.Tensor) -> torch.Tensor:
        """``[N, D]``: each row's nearest support-set entry, or ``z`` itself while it is empty."""
        if len(self.support) == 0:
            return z
        return nearest_neighbors(z, self.support.features())

    def training_step(
        self, batch: Batch, generator: torch.Generator | None = None
    ) -> dict[str, torch.Tensor]:
        view_a, view_b = self.views(batch, generator)
        h_a = self.backbone.forward_features(view_a)  # [N, D]
        z_a = self.projector(h_a)  # [N, out]
        z_b = self.projector(self.backbone.forward_features(view_b))  # [N, out]
        p_a, p_b = self.predictor(z_a), self.predictor(z_b)  # [N, out]
        nn_a, nn_b = self.neighbours(z_a), self.neighbours(z_b)  # [N, out], detached if found
        loss = 0.5 * (self.criterion(nn_a, p_b) + self.criterion(nn_b, p_a))
        self.support.push(F.normalize(z_a.detach(), dim=1))
        return {
            "loss": loss,
            "embedding": h_a.detach(),
            "support_size": torch.tensor(float(len(self.support))),
        }

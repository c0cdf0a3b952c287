"""MoCo v3 (Chen, Xie & He, 2021): a query encoder with a predictor matches a momentum key
encoder's projection of the other view among the keys of the global batch; no queue."""

from __future__ import annotations

import torch
from torch import nn

from selfsup.backbones.base import Backbone
from selfsup.backbones.vit import ViTBackbone
from selfsup.losses.info_nce import InfoNCELoss
from selfsup.methods.base import VIEW_MODALITIES, Batch, Method
from selfsup.methods.registry import register_method
from selfsup.nn.ema_teacher import EMATeacher
from selfsup.nn.heads_extra import MoCoV3PredictionHead, MoCoV3ProjectionHead
from selfsup.registry import ConfigError


@register_method("moco_v3", tiny={"backbone": "resnet_tiny"})
class MoCoV3(Method):
    """Query: backbone -> projector -> predictor. Key: EMA copy of backbone + projector.

    Loss ``2 tau * (ctr(q_a, k_b) + ctr(q_b, k_a))`` where ``ctr`` is InfoNCE whose negatives are
    the other keys of the global batch (gathered from every rank). The ``2 tau`` factor is the
    paper's: it makes the gradient scale independent of the temperature. Each view passes
    through the networks separately, so BatchNorm never mixes the two views of one image
    (multi-GPU runs should set ``train.sync_batchnorm=true``). The key encoder's momentum rises
    from ``momentum_base`` to ``momentum_final`` on a half cosine over the run.

    Args:
        backbone: the query encoder being pretrained (a ResNet or a ViT).
        augment: makes the two views (the paper uses BYOL's asymmetric pair).
        temperature: InfoNCE temperature (paper: 0.2 for ViT; its ResNet-50 recipe uses 1.0).
        proj_hidden_dim / proj_out_dim / proj_layers: projector (paper: 3 layers, 4096 -> 256).
        pred_hidden_dim: predictor hidden size (paper: 4096; output = ``proj_out_dim``).
        momentum_base / momentum_final: key-encoder EMA momentum at the first / last step
            (paper: 0.99 -> 1).
        freeze_patch_embed: keep a ViT's patch projection at its random initialisation (the
            paper's fix for training instability); a ``ConfigError`` for non-ViT backbones.
        gather: use the other DDP ranks' keys as negatives.
    """

    modality = VIEW_MODALITIES

    def __init__(
        self,
        backbone: Backbone,
        augment: nn.Module,
        *,
        temperature: float = 0.2,
        proj_hidden_dim: int = 4096,
        proj_out_dim: int = 256,
        proj_layers: int = 3,
        pred_hidden_dim: int = 4096,
        momentum_base: float = 0.99,
        momentum_final: float = 1.0,
        freeze_patch_embed: bool = False,
        gather: bool = True,
    ) -> None:
        super().__init__(backbone, augment)
        self.ema = EMATeacher("cosine", momentum_base, momentum_final, owner="MoCo v3")
        if freeze_patch_embed:
            freeze_vit_patch_projection(backbone)
        self.projector = MoCoV3ProjectionHead(
            backbone.feature_dim, proj_hidden_dim, proj_out_dim, num_layers=proj_layers
        )
        self.predictor = MoCoV3PredictionHead(proj_out_dim, pred_hidden_dim, proj_out_dim)
        self.key_backbone = self.ema.track(backbone)
        self.key_projector = self.ema.track(self.projector)
        self.criterion = InfoNCELoss(temperature=temperature, gather=gather)

    def training_step(
        self, batch: Batch, generator: torch.Generator | None = None
    ) -> dict[str, torch.Tensor]:
        view_a, view_b = self.views(batch, generator)
        h_a = self.backbone.forward_features(view_a)  # [N, D]
        q_a = self.predictor(self.projector(h_a))  # [N, out]
        q_b = self.predictor(self.projector(self.backbone.forward_features(view_b)))
        with torch.no_grad():
            k_a = self.key_projector(self.key_backbone.forward_features(view_a))  # [N, out]
            k_b = self.key_projector(self.key_backbone.forward_features(view_b))
        scale = 2.0 * self.criterion.temperature
        loss = scale * (self.criterion(q_a, k_b) + self.criterion(q_b, k_a))
        return {
            "loss": loss,
            "embedding": h_a.detach(),
            "momentum": torch.tensor(self.ema.momentum),  # of the latest key update
        }

    def on_step_end(self, step: int, max_steps: int) -> None:
        """Move the key encoder towards the query encoder with this step's momentum."""
        self.ema.step(step, max_steps)


def freeze_vit_patch_projection(backbone: Backbone) -> None:
    """Stop gradients into a ViT's patch projection (MoCo v3's random patch projection)."""
    if not isinstance(backbone, ViTBackbone):
        raise ConfigError(
            f"method.freeze_patch_embed=true needs a ViT backbone, got {type(backbone).__name__}"
        )
    for p in backbone.model.patch_embed.proj.parameters():
        p.requires_grad_(False)

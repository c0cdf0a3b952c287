"""MoCo v2 (Chen et al., 2020b): queries against a momentum key encoder's current key and a
queue of past keys, with an MLP head and InfoNCE."""

from __future__ import annotations

import torch
from torch import nn

from selfsup.backbones.base import Backbone
from selfsup.losses.info_nce import InfoNCELoss
from selfsup.methods.base import VIEW_MODALITIES, Batch, Method
from selfsup.methods.registry import register_method
from selfsup.nn.ema_teacher import EMATeacher
from selfsup.nn.heads import MoCoProjectionHead
from selfsup.nn.queue import MemoryQueue


@register_method("moco", tiny={"backbone": "resnet_tiny"})
class MoCo(Method):
    """Query encoder (backbone + MLP head) trained by InfoNCE; key encoder = its EMA copy.

    Each step the keys of the current batch (from every rank) are enqueued after the loss, so a
    query never meets its own key among the negatives. While the queue is still empty (the first
    step) the other samples' keys of the batch serve as negatives instead.

    MoCo's Shuffle-BN (shuffling the key batch across GPUs) is not implemented: on one device it
    does not apply, and multi-GPU runs should set ``train.sync_batchnorm=true`` instead, so BN
    statistics come from the global batch and cannot leak which key matches which query.

    Args:
        backbone: the query encoder being pretrained.
        augment: makes the query and key views (the MoCo v2 recipe equals SimCLR's with blur).
        temperature: InfoNCE temperature (MoCo v2: 0.2).
        queue_size: number of past keys kept as negatives (paper: 65536; 4096 suits CIFAR).
        momentum: key encoder EMA momentum (paper: 0.999; 0.99 suits short CIFAR runs).
        proj_hidden_dim / proj_out_dim: the MLP head (paper: 2048 -> 128).
    """

    modality = VIEW_MODALITIES

    def __init__(
        self,
        backbone: Backbone,
        augment: nn.Module,
        *,
        temperature: float = 0.2,
        queue_size: int = 4096,
        momentum: float = 0.99,
        proj_hidden_dim: int = 2048,
        proj_out_dim: int = 128,
    ) -> None:
        super().__init__(backbone, augment)
        self.ema = EMATeacher("constant", momentum, owner="MoCo")
        self.projector = MoCoProjectionHead(backbone.feature_dim, proj_hidden_dim, proj_out_dim)
        self.key_backbone = self.ema.track(backbone)
        self.key_projector = self.ema.track(self.projector)
        self.queue = MemoryQueue(queue_size, proj_out_dim)
        self.criterion = InfoNCELoss(temperature=temperature)

    def training_step(
        self, batch: Batch, generator: torch.Generator | None = None
    ) -> dict[str, torch.Tensor]:
        view_q, view_k = self.views(batch, generator)
        h = self.backbone.forward_features(view_q)  # [N, D]
        q = self.projector(h)  # [N, out]
        with torch.no_grad():
            k = nn.functional.normalize(
                self.key_projector(self.key_backbone.forward_features(view_k)), dim=1
            )  # [N, out]
        # Clone: the push below overwrites queue rows that the loss's backward still needs.
        negatives = self.queue.features().clone() if len(self.queue) > 0 else None
        loss = self.criterion(q, k, negatives)
        self.queue.push(k)
        return {"loss": loss, "embedding": h.detach()}

    def on_step_end(self, step: int, max_steps: int) -> None:
        """Move the key encoder towards the query encoder (constant momentum)."""
        self.ema.step(step, max_steps)

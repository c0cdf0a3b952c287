"""SwAV (Caron et al., 2020): online clustering with swapped prediction and multi-crop."""

from __future__ import annotations

import torch
import torch.nn.functional as F
from torch import nn

from selfsup.backbones.base import Backbone
from selfsup.losses.swav import SwAVLoss
from selfsup.methods.base import VIEW_MODALITIES, Batch, Method, encode_by_shape
from selfsup.methods.registry import register_method
from selfsup.nn.heads import SimCLRProjectionHead
from selfsup.nn.queue import MemoryQueue
from selfsup.nn.sinkhorn import sinkhorn
from selfsup.nn.step_counter import StepCounter

NUM_GLOBAL = 2  # views 0 and 1 are the global crops; their codes are the prediction targets


@register_method("swav", tiny={"backbone": "resnet_tiny"})
class SwAV(Method):
    """Backbone -> projector (Linear-BN-ReLU-Linear) -> L2-normalise -> prototypes.

    Codes of the two global views come from Sinkhorn-Knopp over the global batch (equal use of
    every prototype); each view, local crops included, predicts the other global views' codes
    from its own prototype scores (:class:`SwAVLoss`). Views of equal shape share one backbone
    pass, so any ``augment`` returning >= 2 views works: the ``multicrop`` recipe (2 global +
    V local) or a plain two-view recipe such as ``simclr``.

    Prototype rows are L2-normalised before every step. During the first
    ``freeze_prototypes_steps`` optimizer steps the prototypes receive no gradient (the paper
    freezes them for the first epoch; it helps early training). Multi-GPU runs should set
    ``train.sync_batchnorm=true``.

    Small batches (CIFAR's 256 against 3000 prototypes) leave Sinkhorn few samples per
    prototype; the optional queue keeps the last ``queue_size`` projections of each global view
    (from all ranks) and adds their scores as extra Sinkhorn rows once it is full. It starts
    filling after ``queue_start_steps`` steps, when the features have stopped changing fast.

    Args:
        backbone: the encoder being pretrained.
        augment: makes the views; the first two are the global ones.
        temperature: softmax temperature of the predictions (paper: 0.1).
        num_prototypes: number of prototypes K (paper: 3000 on ImageNet; common CIFAR recipes
            keep 3000, some use 100 = 10x the class count).
        proj_hidden_dim / proj_out_dim: projector sizes (paper: 2048 -> 128).
        epsilon / sinkhorn_iterations: Sinkhorn regularisation and rounds (paper: 0.05, 3).
        freeze_prototypes_steps: steps without prototype updates (paper: 313, one epoch).
        queue_size: projections kept per global view for Sinkhorn; 0 disables the queue.
        queue_start_steps: steps before the queue starts filling.
    """

    modality = VIEW_MODALITIES

    def __init__(
        self,
        backbone: Backbone,
        augment: nn.Module,
        *,
        temperature: float = 0.1,
        num_prototypes: int = 3000,
        proj_hidden_dim: int = 2048,
        proj_out_dim: int = 128,
        epsilon: float = 0.05,
        sinkhorn_iterations: int = 3,
        freeze_prototypes_steps: int = 313,
        queue_size: int = 0,
        queue_start_steps: int = 0,
    ) -> None:
        super().__init__(backbone, augment)
        if num_prototypes < 1 or queue_size < 0 or freeze_prototypes_steps < 0:
            raise ValueError(
                "SwAV needs num_prototypes >= 1, queue_size >= 0 and freeze_prototypes_steps "
                f">= 0, got {num_prototypes}, {queue_size} and {freeze_prototypes_steps}"
            )
        if not epsilon > 0 or sinkhorn_iterations < 1:
            raise ValueError(
                "SwAV needs epsilon > 0 and sinkhorn_iterations >= 1, got "
                f"{epsilon} and {sinkhorn_iterations}"
            )
        self.projector = SimCLRProjectionHead(backbone.feature_dim, proj_hidden_dim, proj_out_dim)
        self.prototypes = nn.Linear(proj_out_dim, num_prototypes, bias=False)
        self.normalize_prototypes()
        self.queues = nn.ModuleList(
            [MemoryQueue(queue_size, proj_out_dim) for _ in range(NUM_GLOBAL)]
            if queue_size > 0
            else []
        )
        self.criterion = SwAVLoss(temperature=temperature)
        self.epsilon = float(epsilon)
        self.sinkhorn_iterations = sinkhorn_iterations
        self.freeze_prototypes_steps = freeze_prototypes_steps
        self.queue_start_steps = queue_start_steps
        # Saved with the weights, so a resumed run knows whether prototypes are frozen.
        self.steps = StepCounter()

    @torch.no_grad()
    def normalize_prototypes(self) -> None:
        """Project every prototype (row of the weight) back onto the unit sphere."""
        self.prototypes.weight.copy_(F.normalize(self.prototypes.weight, dim=1))

    def training_step(
        self, batch: Batch, generator: torch.Generator | None = None
    ) -> dict[str, torch.Tensor]:
        views = self.views(batch, generator)
        if len(views) < NUM_GLOBAL:
            raise ValueError(
                f"SwAV needs at least {NUM_GLOBAL} views, the augment gave {len(views)}"
            )
        self.normalize_prototypes()
        n = views[0].shape[0]
        h = encode_by_shape(self.backbone.forward_features, views)  # [V * N, D], views in order
        z = F.normalize(self.projector(h), dim=1)  # [V * N, out]
        step = self.steps.count()
        weight = self.prototypes.weight
        if step < self.freeze_prototypes_steps:
            weight = weight.detach()  # no gradient: the optimizer leaves the prototypes alone
        scores = list((z @ weight.T).split(n))  # V x [N, K]
        codes = [self._codes(scores[i].detach(), i) for i in range(NUM_GLOBAL)]
        loss = self.criterion(scores, codes)
        if self.queues and step >= self.queue_start_steps:
            for i in range(NUM_GLOBAL):
                self._queue(i).push(z[i * n : (i + 1) * n].detach())  # after use, not before
        return {"loss": loss, "embedding": h[:n].detach()}

    @torch.no_grad()
    def _codes(self, scores: torch.Tensor, view: int) -> torch.Tensor:
        shared = None
        if self.queues:
            queue = self._queue(view)
            if len(queue) == queue.size:  # a partly filled queue would bias the marginals
                shared = queue.features() @ self.prototypes.weight.T
        return sinkhorn(scores, self.epsilon, self.sinkhorn_iterations, shared=shared)

    def _queue(self, view: int) -> MemoryQueue:
        queue = self.queues[view]
        assert isinstance(queue, MemoryQueue)
        return queue

    @torch.no_grad()
    def on_step_end(self, step: int, max_steps: int) -> None:
        """Record ``step`` = optimizer steps done (for the freeze) and renormalise prototypes."""
        self.steps.record(step)
        self.normalize_prototypes()

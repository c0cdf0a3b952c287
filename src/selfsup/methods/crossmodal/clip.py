"""CLIP (Radford et al., 2021) over any two modalities: two towers, linear projections to a
shared space, symmetric InfoNCE with a learned temperature; trained on ``data.source: pairs``."""

from __future__ import annotations

import math
from typing import ClassVar

import torch
from torch import nn

from selfsup.augment.image import CIFAR_MEAN, CIFAR_STD
from selfsup.backbones.base import Backbone
from selfsup.data.pairs_batch import side_b
from selfsup.losses.clip import MAX_LOGIT_SCALE, ClipLoss, ClipTerms
from selfsup.methods.base import Batch, Method
from selfsup.methods.registry import register_method
from selfsup.methods.towers import TowerArg


@register_method(
    "clip",
    towers=(TowerArg("tower_b", side="b"),),
    data_sources=("pairs",),
    tiny={"backbone": "vit_tiny", "towers": {"tower_b": "text_encoder_tiny"}},
)
class CLIP(Method):
    """Tower ``a`` (the run's ``backbone``) encodes side ``a`` of each pair, tower ``b``
    (``method.tower_b``) side ``b``; pair i's two projections must find each other among the
    global batch's, in both directions. ``encoder()`` is tower ``a``; :meth:`embed_b` and
    :meth:`embed_pair` give the shared-space embeddings cross-modal evaluation compares.

    Args:
        backbone: tower ``a``, any registered backbone of side ``a``'s modality.
        augment: optional views of side ``a`` (the first view is used), e.g. ``crop_flip``
            for images or ``audio_crop`` for speech; without one the raw items are encoded.
        tower_b: tower ``b``; in a config ``method.tower_b: {name: BACKBONE, ...}`` or
            ``{from: RUN}`` (a selfsup-pretrained encoder), built or loaded by the engine.
        embed_dim: width of the shared space (linear projections, no bias, as CLIP).
        init_temperature: starting temperature (CLIP: 0.07, a logit scale of ~14.3).
        learn_temperature: learn the logit scale (clamped at 100, as CLIP) or keep it fixed.
        freeze_a / freeze_b: keep a tower's weights (and its dropout) fixed; its projection
            still trains (LiT-style "locked" towers).
        gather: use every DDP rank's pairs as negatives, gradients flowing back.
    """

    modality: ClassVar[tuple[str, ...]] = ("image", "audio", "text")
    reports_sample_loss: ClassVar[bool] = True

    def __init__(
        self,
        backbone: Backbone,
        augment: nn.Module | None = None,
        *,
        tower_b: Backbone,
        embed_dim: int = 128,
        init_temperature: float = 0.07,
        learn_temperature: bool = True,
        freeze_a: bool = False,
        freeze_b: bool = False,
        gather: bool = True,
    ) -> None:
        super().__init__(backbone, augment)
        if not init_temperature >= 1 / MAX_LOGIT_SCALE:
            raise ValueError(f"init_temperature must be >= 0.01, got {init_temperature}")
        self.tower_b = tower_b
        self.proj_a = nn.Linear(backbone.feature_dim, embed_dim, bias=False)
        self.proj_b = nn.Linear(tower_b.feature_dim, embed_dim, bias=False)
        self.logit_scale = nn.Parameter(
            torch.tensor(math.log(1 / init_temperature)), requires_grad=learn_temperature
        )
        self.frozen = {"backbone": freeze_a, "tower_b": freeze_b}
        for name, frozen in self.frozen.items():
            for p in getattr(self, name).parameters():
                p.requires_grad_(not frozen)
        self.loss = ClipLoss(gather=gather)

    def train(self, mode: bool = True) -> CLIP:
        super().train(mode)
        for name, frozen in self.frozen.items():
            if frozen:
                getattr(self, name).eval()  # a locked tower's dropout stays off
        return self

    def scale(self) -> torch.Tensor:
        """The logit scale used: ``exp(logit_scale)``, at most :data:`MAX_LOGIT_SCALE`."""
        return self.logit_scale.exp().clamp(max=MAX_LOGIT_SCALE)

    def training_step(
        self, batch: Batch, generator: torch.Generator | None = None
    ) -> dict[str, torch.Tensor]:
        augmented = self.augment is not None
        x_a = self.views(batch, generator)[0] if augmented else self.eval_input(batch["input"])
        terms, h_a = self._terms(x_a, side_b(batch)["input"])
        return {
            "loss": terms.loss,
            "sample_loss": terms.sample_loss,
            "accuracy": terms.accuracy,
            "logit_scale": self.scale().detach(),
            "embedding": h_a.detach(),
        }

    def validation_loss(
        self, batch: Batch, generator: torch.Generator | None = None
    ) -> torch.Tensor | None:
        """The symmetric loss of held-out pairs, each side as evaluation reads it."""
        return self._terms(self.eval_input(batch["input"]), side_b(batch)["input"])[0].loss

    def _terms(self, x_a: torch.Tensor, x_b: torch.Tensor) -> tuple[ClipTerms, torch.Tensor]:
        h_a = self._features("backbone", x_a)  # [N, D_a]
        h_b = self._features("tower_b", prepare(self.tower_b, x_b))  # [N, D_b]
        return self.loss(self.proj_a(h_a), self.proj_b(h_b), self.scale()), h_a

    def _features(self, name: str, x: torch.Tensor) -> torch.Tensor:
        tower: Backbone = getattr(self, name)
        if self.frozen[name]:
            with torch.no_grad():
                return tower.forward_features(x)
        return tower.forward_features(x)

    def on_step_end(self, step: int, max_steps: int) -> None:
        """Clip the parameter itself too (as CLIP), so it cannot drift above log(100)."""
        with torch.no_grad():
            self.logit_scale.clamp_(max=math.log(MAX_LOGIT_SCALE))

    def eval_input(self, x: torch.Tensor) -> torch.Tensor:
        """Side ``a`` as evaluation reads it: the augment's ``eval_view``, else as stored
        (images: normalised floats)."""
        eval_view = getattr(self.augment, "eval_view", None)
        return eval_view(x) if callable(eval_view) else prepare(self.backbone, x)

    @torch.no_grad()
    def embed_pair(self, batch: Batch) -> tuple[torch.Tensor, torch.Tensor]:
        """Unit-length shared-space embeddings ``[N, embed_dim]`` of both sides of a batch."""
        a = self.proj_a(self.backbone.forward_features(self.eval_input(batch["input"])))
        return nn.functional.normalize(a, dim=1), self.embed_b(side_b(batch)["input"])

    @torch.no_grad()
    def embed_b(self, x: torch.Tensor) -> torch.Tensor:
        """Unit-length shared-space embeddings of raw side-``b`` inputs (class prompts)."""
        b = self.proj_b(self.tower_b.forward_features(prepare(self.tower_b, x)))
        return nn.functional.normalize(b, dim=1)


def prepare(tower: Backbone, x: torch.Tensor) -> torch.Tensor:
    """A raw side as ``tower`` reads it: uint8 images to CIFAR-normalised floats (the image
    recipes' default), waveforms and token ids unchanged."""
    if tower.modality != "image" or x.is_floating_point():
        return x
    mean = torch.tensor(CIFAR_MEAN, device=x.device).view(1, 3, 1, 1)
    std = torch.tensor(CIFAR_STD, device=x.device).view(1, 3, 1, 1)
    return (x.float() / 255 - mean) / std

"""Colorful image colorization (Zhang et al. 2016): predict a picture's ab colours from its
lightness L."""

from __future__ import annotations

from typing import Literal

import torch
import torch.nn.functional as F
from torch import nn

from selfsup.augment.lab import AB_SCALE, L_MAX, in_gamut_ab_bins, lab_to_rgb, rgb_to_lab
from selfsup.backbones.base import Backbone
from selfsup.losses.colorization import RebalancedColorLoss
from selfsup.methods.base import Batch, Method
from selfsup.methods.registry import register_method
from selfsup.nn.pretext_heads import MapDecoder

Target = Literal["classification", "regression"]


@register_method("colorization", tiny={"backbone": "resnet_tiny", "args": {"decoder_width": 32}})
class Colorization(Method):
    """The backbone sees only L; a decoder upsamples its feature map (``forward_map``: a
    ResNet's last map, a ViT's patch grid) by ``2 ** decoder_stages`` and predicts ab there,
    against the ab of the image averaged to that grid (the paper predicts at 1/4 of the input
    resolution: one stage on a stride-8 CIFAR ResNet); ``colorize`` upsamples to full size.

    ``classification`` (the paper's): logits over the in-gamut ab bins of a ``ab_grid`` grid,
    soft-encoded targets, class rebalancing with ``rebalance`` (lambda; 0.5 in the paper)
    against a running prior; ``regression``: L2 on ab / 110 (the paper's weaker baseline).

    Input: L / 50 - 1 (in [-1, 1]) copied to each of the backbone's ``in_chans`` channels, so
    a standard 3-channel backbone (and its exports) stays usable. Evaluation sees the same: the
    ``eval_input`` of this method turns the eval view back into RGB and keeps only L, so kNN
    and probes measure the encoder on what it was trained on (grey images).

    Args:
        backbone: the encoder being pretrained (needs ``forward_map``).
        augment: its first view of each image gives the colours to predict.
        target: ``classification`` or ``regression``.
        ab_grid: side of the ab bins (paper: 10).
        rebalance: class-rebalancing lambda (1.0: no rebalancing).
        decoder_stages / decoder_width: 2x upsampling stages and the first one's channels.
    """

    def __init__(
        self,
        backbone: Backbone,
        augment: nn.Module,
        target: Target = "classification",
        ab_grid: float = 10.0,
        rebalance: float = 0.5,
        decoder_stages: int = 1,
        decoder_width: int = 128,
    ) -> None:
        super().__init__(backbone, augment)
        if target not in ("classification", "regression"):
            raise ValueError(
                f"colorization target must be classification or regression, got {target!r}"
            )
        if not hasattr(augment, "mean") or not hasattr(augment, "std"):
            raise ValueError("colorization needs image views with a mean and std (ImageViews)")
        self.target = target
        self.in_chans = int(getattr(backbone, "in_chans", 3))
        bins = in_gamut_ab_bins(ab_grid)
        self.criterion = (
            RebalancedColorLoss(bins, rebalance) if target == "classification" else None
        )
        out = bins.shape[0] if target == "classification" else 2
        self.decoder = MapDecoder(backbone.feature_dim, out, decoder_stages, decoder_width)

    def to_rgb(self, view: torch.Tensor) -> torch.Tensor:
        """Undo the view's normalisation: RGB in [0, 1] ``[B, 3, H, W]``."""
        mean: torch.Tensor = getattr(self.augment, "mean").to(view.device)  # noqa: B009
        std: torch.Tensor = getattr(self.augment, "std").to(view.device)  # noqa: B009
        rgb = (view * std + mean).clamp(0.0, 1.0)
        return rgb.expand(-1, 3, -1, -1) if rgb.shape[1] == 1 else rgb

    def lightness_input(self, lab: torch.Tensor) -> torch.Tensor:
        """The encoder's input from Lab: L / 50 - 1 on ``in_chans`` channels."""
        return (lab[:, :1] / (L_MAX / 2) - 1.0).expand(-1, self.in_chans, -1, -1).contiguous()

    def eval_input(self, x: torch.Tensor) -> torch.Tensor:
        """The eval view reduced to its lightness, as in training."""
        return self.lightness_input(rgb_to_lab(self.to_rgb(super().eval_input(x))))

    def predict(self, lab: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
        """Decoder output ``[B, Q or 2, h', w']`` for Lab images (only L is used) and the
        backbone's feature map."""
        fmap = self.backbone.forward_map(self.lightness_input(lab))
        return self.decoder(fmap), fmap

    @torch.no_grad()
    def colorize(self, images: torch.Tensor, temperature: float = 0.38) -> torch.Tensor:
        """Colourised RGB ``[B, 3, H, W]`` of uint8 images from their L alone; classification
        decodes the annealed mean of the bins (the paper's T = 0.38)."""
        lab = rgb_to_lab(self.to_rgb(super().eval_input(images)))
        out = self.predict(lab)[0].float()
        if self.criterion is None:
            ab = out * AB_SCALE
        else:
            probs = F.softmax(out / temperature, dim=1)  # [B, Q, h', w']
            ab = torch.einsum("bqhw,qc->bchw", probs, self.criterion.bins)
        ab = F.interpolate(ab, size=lab.shape[2:], mode="bilinear", align_corners=False)
        return lab_to_rgb(torch.cat([lab[:, :1], ab], dim=1))

    def training_step(
        self, batch: Batch, generator: torch.Generator | None = None
    ) -> dict[str, torch.Tensor]:
        (view,) = self.views(batch, generator)[:1]
        lab = rgb_to_lab(self.to_rgb(view))  # [B, 3, H, W]
        out, fmap = self.predict(lab)  # [B, Q or 2, h', w'], [B, D, h, w]
        ab = F.adaptive_avg_pool2d(
            lab[:, 1:], (int(out.shape[2]), int(out.shape[3]))
        )  # targets on the output grid
        embedding = fmap.mean(dim=(2, 3)).detach()  # the pooled map: a ResNet's features
        if self.criterion is None:
            loss = F.mse_loss(out.float(), ab / AB_SCALE)
            return {"loss": loss, "embedding": embedding}
        loss, accuracy = self.criterion(out, ab)
        return {"loss": loss, "pretext_acc": accuracy.detach(), "embedding": embedding}

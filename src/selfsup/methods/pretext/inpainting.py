"""Context encoders (Pathak et al. 2016): fill in a hidden region of the image."""

from __future__ import annotations

import torch
import torch.nn.functional as F
from torch import nn
from torch.func import functional_call

from selfsup.backbones.base import Backbone
from selfsup.losses.hole_reconstruction import HoleReconstructionLoss
from selfsup.methods.base import Batch, Method
from selfsup.methods.registry import register_method
from selfsup.nn.pretext_heads import MapDecoder, PatchDiscriminator
from selfsup.nn.region_masks import HoleMode, border_band, square_hole_masks


@register_method("inpainting", tiny={"backbone": "resnet_tiny", "args": {"decoder_width": 32}})
class Inpainting(Method):
    """The backbone encodes the view with a square hole (set to 0, the dataset mean after
    normalisation); a decoder upsamples its feature map and the L2 loss is taken inside the
    hole, plus an ``overlap``-pixel band of context around it at ``border_weight``.

    With ``adversarial_weight`` > 0 a small discriminator judges the filled-in images, and the
    loss is ``(1 - w) * L2 + w * adversarial`` (paper: w = 0.001) plus the discriminator's own
    loss; the generator term reads the discriminator's weights detached and the discriminator
    term the fill detached, so one optimizer trains both players in opposite directions.

    Args:
        backbone: the encoder being pretrained (needs ``forward_map``).
        augment: its first view of each image is the picture to complete.
        hole: ``center`` (the paper's central block) or ``random`` (a block anywhere).
        hole_area: fraction of the image the square hole covers (paper: 1/4).
        overlap / border_weight: the weighted context band (paper: 7 px of 128, 10x); 0: off.
        adversarial_weight: w above (0: no discriminator).
        decoder_stages / decoder_width: 2x upsampling stages and the first one's channels.
    """

    def __init__(
        self,
        backbone: Backbone,
        augment: nn.Module,
        hole: HoleMode = "center",
        hole_area: float = 0.25,
        overlap: int = 0,
        border_weight: float = 10.0,
        adversarial_weight: float = 0.0,
        decoder_stages: int = 3,
        decoder_width: int = 128,
    ) -> None:
        super().__init__(backbone, augment)
        square_hole_masks(1, 8, hole_area, hole)  # validates hole and area before any data
        if overlap < 0 or not 0.0 <= adversarial_weight < 1.0:
            raise ValueError("inpainting needs overlap >= 0 and adversarial_weight in [0, 1)")
        self.hole, self.hole_area, self.overlap = hole, hole_area, overlap
        self.adversarial_weight = adversarial_weight
        channels = int(getattr(backbone, "in_chans", 3))
        self.decoder = MapDecoder(backbone.feature_dim, channels, decoder_stages, decoder_width)
        self.criterion = HoleReconstructionLoss(border_weight)
        # Built only when used: an unused trainable module would break DDP.
        self.discriminator = PatchDiscriminator(channels) if adversarial_weight > 0 else None

    def masks(
        self, images: torch.Tensor, generator: torch.Generator | None = None
    ) -> tuple[torch.Tensor, torch.Tensor]:
        """The hole ``[B, 1, S, S]`` and its context band (bool) for a batch of views."""
        hole = square_hole_masks(
            images.shape[0], images.shape[-1], self.hole_area, self.hole, generator, images.device
        )
        return hole, border_band(hole, self.overlap)

    def reconstruct(
        self, images: torch.Tensor, hole: torch.Tensor
    ) -> tuple[torch.Tensor, torch.Tensor]:
        """The decoder's full-image prediction and the backbone's map for views with ``hole``."""
        fmap = self.backbone.forward_map(images.masked_fill(hole, 0.0))
        return self.decoder(fmap, (images.shape[2], images.shape[3])), fmap

    def _adversarial(
        self, images: torch.Tensor, filled: torch.Tensor
    ) -> tuple[torch.Tensor, torch.Tensor]:
        """Generator and discriminator losses (non-saturating GAN) on real and filled images."""
        disc = self.discriminator
        assert disc is not None
        frozen = {k: v.detach() for k, v in disc.named_parameters()}
        fooled = functional_call(disc, frozen, (filled,))
        g_loss = F.binary_cross_entropy_with_logits(fooled, torch.ones_like(fooled))
        real, fake = disc(images), disc(filled.detach())
        d_loss = F.binary_cross_entropy_with_logits(
            real, torch.ones_like(real)
        ) + F.binary_cross_entropy_with_logits(fake, torch.zeros_like(fake))
        return g_loss, d_loss

    def training_step(
        self, batch: Batch, generator: torch.Generator | None = None
    ) -> dict[str, torch.Tensor]:
        (view,) = self.views(batch, generator)[:1]
        hole, band = self.masks(view, generator)
        pred, fmap = self.reconstruct(view, hole)  # [B, C, S, S], [B, D, h, w]
        rec = self.criterion(pred, view, hole, band)
        out = {"reconstruction_loss": rec.detach(), "embedding": fmap.mean(dim=(2, 3)).detach()}
        if self.discriminator is None:
            return {"loss": rec, **out}
        filled = torch.where(hole, pred.to(view.dtype), view)
        g_loss, d_loss = self._adversarial(view, filled)
        w = self.adversarial_weight
        loss = (1.0 - w) * rec + w * g_loss + d_loss
        return {"loss": loss, "adversarial_loss": g_loss.detach(), "d_loss": d_loss.detach(), **out}

"""MAE (He et al., 2021): a ViT encodes only a random 25% of the patches; a small decoder
reconstructs the pixels of the rest."""

from __future__ import annotations

from typing import ClassVar

import torch
from torch import nn

from selfsup.backbones.base import Backbone
from selfsup.backbones.vit import ViTBackbone, as_vit
from selfsup.losses.mae import MAELoss
from selfsup.methods.base import Batch, Method
from selfsup.methods.registry import register_method
from selfsup.nn.mae_decoder import MAEDecoder
from selfsup.nn.masking import patchify, random_masking


@register_method("mae", tiny={"backbone": "vit_tiny"})
class MAE(Method):
    """Masked autoencoder in named stages: ``mask -> encode -> decode -> loss``.

    The encoder never sees mask tokens, so its cost scales with the kept fraction
    ``1 - mask_ratio``. The loss is the MSE on masked patches only, against per-patch
    normalised pixels when ``norm_pix_loss`` (the paper's default here). Targets are the
    augmented view itself (normalised with the augment's mean/std), cut into patches.

    Args:
        backbone: a ``ViTBackbone`` (the encoder being pretrained).
        augment: one view per image (the ``crop_flip`` recipe is the paper's).
        mask_ratio: fraction of patches removed (paper: 0.75).
        decoder_dim / decoder_depth / decoder_heads: decoder size (paper: 512 / 8 / 16).
        norm_pix_loss: regress per-patch standardised pixels.
    """

    requires_tokens: ClassVar[bool] = True
    reports_sample_loss: ClassVar[bool] = True
    schedulable: ClassVar[dict[str, tuple[float, float]]] = {"mask_ratio": (0.0, 1.0)}

    @property
    def vit(self) -> ViTBackbone:
        """``backbone``, typed as the ViT it was checked to be."""
        return as_vit(self.backbone, "MAE")

    def __init__(
        self,
        backbone: Backbone,
        augment: nn.Module,
        *,
        mask_ratio: float = 0.75,
        decoder_dim: int = 512,
        decoder_depth: int = 8,
        decoder_heads: int = 16,
        norm_pix_loss: bool = True,
    ) -> None:
        super().__init__(backbone, augment)
        backbone = as_vit(backbone, "MAE")
        if not 0.0 < mask_ratio < 1.0:
            raise ValueError(f"MAE mask_ratio must be in (0, 1), got {mask_ratio}")
        self.mask_ratio = mask_ratio
        p = backbone.patch_size
        self.decoder = MAEDecoder(
            backbone.patch_grid,
            backbone.feature_dim,
            p * p * backbone.in_chans,
            decoder_dim=decoder_dim,
            depth=decoder_depth,
            num_heads=decoder_heads,
            num_prefix_tokens=backbone.num_prefix_tokens,
        )
        self.criterion = MAELoss(norm_pix=norm_pix_loss)

    def mask(
        self, batch_size: int, generator: torch.Generator | None = None
    ) -> tuple[torch.Tensor, torch.Tensor, torch.Tensor]:
        """``keep_idx [B, K]``, ``mask [B, N]`` (True = removed), ``restore_idx [B, N]``."""
        device = self.vit.mask_token.device
        return random_masking(
            batch_size, self.vit.num_patches, self.mask_ratio, generator, device=device
        )

    def encode(self, images: torch.Tensor, keep_idx: torch.Tensor) -> torch.Tensor:
        """Encoder tokens of the kept patches only: ``[B, 1 + K, D]``."""
        return self.vit.forward_visible(images, keep_idx)

    def decode(self, latent: torch.Tensor, restore_idx: torch.Tensor) -> torch.Tensor:
        """Pixel predictions for every patch: ``[B, N, p * p * C]``."""
        return self.decoder(latent, restore_idx)

    def loss(
        self, images: torch.Tensor, pred: torch.Tensor, mask: torch.Tensor, per_sample: bool = False
    ) -> torch.Tensor:
        """MSE between ``pred`` and the images' (normalised) patches, masked patches only
        (``per_sample``: one value per image)."""
        return self.criterion(pred, patchify(images, self.vit.patch_size), mask, per_sample)

    def reconstruct(
        self, images: torch.Tensor, generator: torch.Generator | None = None
    ) -> tuple[torch.Tensor, torch.Tensor]:
        """Predicted patches ``[B, N, p * p * C]`` (in the target space) and the mask."""
        keep_idx, mask, restore_idx = self.mask(images.shape[0], generator)
        return self.decode(self.encode(images, keep_idx), restore_idx), mask

    def training_step(
        self, batch: Batch, generator: torch.Generator | None = None
    ) -> dict[str, torch.Tensor]:
        (view,) = self.views(batch, generator)[:1]
        keep_idx, mask, restore_idx = self.mask(view.shape[0], generator)
        latent = self.encode(view, keep_idx)  # [B, 1 + K, D]
        pred = self.decode(latent, restore_idx)  # [B, N, p*p*C]
        # Every image masks as many patches, so the mean of per-image losses is the loss.
        sample_loss = self.loss(view, pred, mask, per_sample=True)
        # Visible-patch CLS token: cheap, and what the encoder sees during training.
        embedding = latent[:, 0].detach()
        return {"loss": sample_loss.mean(), "sample_loss": sample_loss, "embedding": embedding}

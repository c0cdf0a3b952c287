"""selfsup's own visual tokenizer for BEiT: a small VQ-VAE whose codes sit on the ViT's patch
grid, trained on the same unlabeled images (stage 1 of the BEiT workflow, see docs/beit.md)."""

from __future__ import annotations

from typing import ClassVar

import torch
from torch import nn

from selfsup.backbones.base import Backbone
from selfsup.backbones.vit import ViTBackbone, as_vit
from selfsup.methods.base import Batch, Method
from selfsup.methods.registry import register_method
from selfsup.nn.mae_decoder import MAEDecoder
from selfsup.nn.masking import patchify
from selfsup.nn.vector_quantizer import VectorQuantizer


@register_method("vq_tokenizer", tiny={"backbone": "vit_tiny"})
class VQTokenizer(Method):
    """ViT encoder -> per-patch code (EMA codebook) -> transformer decoder -> patch pixels.

    Stages: ``encode`` (patch tokens projected to ``code_dim``), ``quantize``, ``decode``
    (pixels of every patch), ``loss`` (pixel MSE + commitment). ``tokenize`` gives the discrete
    ids ``[B, h * w]`` BEiT predicts. Use a shallow backbone (``backbone.depth``) on CPU.

    Args:
        backbone: a ``ViTBackbone``; its patch grid is the token grid.
        augment: one view per image (``crop_flip``).
        num_codes / code_dim: codebook size and code width.
        decay / commitment / dead_threshold: ``VectorQuantizer`` settings.
        decoder_dim / decoder_depth / decoder_heads: pixel decoder size.
    """

    requires_tokens: ClassVar[bool] = True

    @property
    def vit(self) -> ViTBackbone:
        """``backbone``, typed as the ViT it was checked to be."""
        return as_vit(self.backbone, "vq_tokenizer")

    def __init__(
        self,
        backbone: Backbone,
        augment: nn.Module,
        *,
        num_codes: int = 512,
        code_dim: int = 32,
        decay: float = 0.99,
        commitment: float = 0.25,
        dead_threshold: float = 0.01,
        decoder_dim: int = 128,
        decoder_depth: int = 2,
        decoder_heads: int = 4,
    ) -> None:
        super().__init__(backbone, augment)
        backbone = as_vit(backbone, "vq_tokenizer")
        self.to_code = nn.Linear(backbone.feature_dim, code_dim)
        self.quantizer = VectorQuantizer(num_codes, code_dim, decay, commitment, dead_threshold)
        p = backbone.patch_size
        self.decoder = MAEDecoder(
            backbone.patch_grid,
            code_dim,
            p * p * backbone.in_chans,
            decoder_dim=decoder_dim,
            depth=decoder_depth,
            num_heads=decoder_heads,
            num_prefix_tokens=0,
        )
        self.decoder.mask_token.requires_grad_(False)  # every position has a code
        self.register_buffer("grid_order", torch.arange(backbone.num_patches), persistent=False)
        self.grid_order: torch.Tensor

    def encode(self, images: torch.Tensor) -> torch.Tensor:
        """Continuous codes ``[B, N, code_dim]`` of the patch tokens."""
        return self.to_code(self.vit.forward_tokens(images)[:, self.vit.num_prefix_tokens :])

    def decode(self, codes: torch.Tensor) -> torch.Tensor:
        """Pixel patches ``[B, N, p * p * C]`` from (quantised) codes ``[B, N, code_dim]``."""
        return self.decoder(codes, self.grid_order.expand(codes.shape[0], -1))

    def loss(self, images: torch.Tensor, pred: torch.Tensor) -> torch.Tensor:
        """Pixel reconstruction MSE over all patches."""
        return (pred - patchify(images, self.vit.patch_size)).pow(2).mean()

    @torch.no_grad()
    def tokenize(self, images: torch.Tensor) -> torch.Tensor:
        """Discrete visual-token ids ``[B, N]`` of normalised images (row-major patch grid)."""
        return self.quantizer.assign(self.encode(images))

    def training_step(
        self, batch: Batch, generator: torch.Generator | None = None
    ) -> dict[str, torch.Tensor]:
        (view,) = self.views(batch, generator)[:1]
        z = self.encode(view)  # [B, N, code_dim]
        quantized, ids, commit = self.quantizer(z, generator)
        recon = self.loss(view, self.decode(quantized))
        used = torch.bincount(ids.flatten(), minlength=self.quantizer.num_codes) > 0
        return {
            "loss": recon + commit,
            "recon_mse": recon.detach(),
            "codes_used": used.float().mean(),
            "embedding": z.mean(dim=1).detach(),
        }

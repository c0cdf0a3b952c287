"""Audio-MAE (Huang et al., 2022): a spectrogram transformer encodes only 20% of the log-mel
patches of each clip; a light decoder reconstructs the rest."""

from __future__ import annotations

from dataclasses import dataclass
from typing import ClassVar

import torch
from torch import nn

from selfsup.backbones.audio_vit import AudioViTBackbone
from selfsup.backbones.base import Backbone
from selfsup.losses.mae import MAELoss
from selfsup.methods.base import Batch, Method
from selfsup.methods.registry import register_method
from selfsup.nn.audio_mae_decoder import AudioMAEDecoder
from selfsup.nn.padded_masking import padded_random_masking

TINY_DECODER = {"decoder_dim": 32, "decoder_depth": 1, "decoder_heads": 2}


@dataclass(frozen=True)
class Reconstruction:
    """One masked reconstruction of a batch (all in the normalised log-mel target space)."""

    pred: torch.Tensor  # [B, N, p * p] decoder output for every patch
    patches: torch.Tensor  # [B, N, p * p] the clips' log-mel patches
    mask: torch.Tensor  # bool [B, N], True at masked real patches (the loss positions)
    valid: torch.Tensor  # bool [B, N], True at real patches
    grid: tuple[int, int]  # (mel patches, time patches)
    sample_loss: torch.Tensor  # [B] each clip's loss over its masked patches
    latent: torch.Tensor  # [B, K, D] encoder tokens of the kept patches
    keep_idx: torch.Tensor  # long [B, K] the kept patches (real first, then padding fill)


def as_audio_vit(backbone: Backbone, owner: str) -> AudioViTBackbone:
    """``backbone`` checked to be the spectrogram transformer (``audio_vit_*``)."""
    if not isinstance(backbone, AudioViTBackbone):
        raise ValueError(
            f"{owner} needs a spectrogram transformer backbone (audio_vit_*), got "
            f"{type(backbone).__name__}"
        )
    return backbone


@register_method(
    "audio_mae", tiny={"backbone": "audio_vit_tiny", "args": {"mask_ratio": 0.8, **TINY_DECODER}}
)
class AudioMAE(Method):
    """Masked autoencoder on log-mel patches: ``mask -> encode -> decode -> loss``.

    Masking is unstructured (uniform over each clip's real patches, as the paper's best
    setting); padding patches are never visible and never reconstructed targets. The loss is
    the image MAE's (:class:`~selfsup.losses.mae.MAELoss`), on masked real patches only.

    Args:
        backbone: an ``audio_vit_*`` spectrogram transformer (the encoder being pretrained).
        augment: optional view recipe (e.g. ``audio_crop``); None: the batch's clips as is.
        mask_ratio: fraction of each clip's real patches removed (paper: 0.8).
        decoder_dim / decoder_depth / decoder_heads: decoder size (paper: 512 / 16 / 16).
        norm_pix_loss: regress per-patch standardised log-mel values (paper: True).
    """

    modality: ClassVar[str] = "audio"
    requires_tokens: ClassVar[bool] = True
    reports_sample_loss: ClassVar[bool] = True
    schedulable: ClassVar[dict[str, tuple[float, float]]] = {"mask_ratio": (0.0, 1.0)}

    def __init__(
        self,
        backbone: Backbone,
        augment: nn.Module | None = None,
        *,
        mask_ratio: float = 0.8,
        decoder_dim: int = 512,
        decoder_depth: int = 16,
        decoder_heads: int = 16,
        norm_pix_loss: bool = True,
    ) -> None:
        super().__init__(backbone, augment)
        vit = as_audio_vit(backbone, "Audio-MAE")
        if not 0.0 < mask_ratio < 1.0:
            raise ValueError(f"Audio-MAE mask_ratio must be in (0, 1), got {mask_ratio}")
        self.mask_ratio = mask_ratio
        p = vit.patch_size
        self.decoder = AudioMAEDecoder(
            vit.spectrogram.n_mels // p,
            vit.feature_dim,
            p * p,
            decoder_dim=decoder_dim,
            depth=decoder_depth,
            num_heads=decoder_heads,
        )
        self.criterion = MAELoss(norm_pix=norm_pix_loss)

    @property
    def vit(self) -> AudioViTBackbone:
        """``backbone``, typed as the spectrogram transformer it was checked to be."""
        return as_audio_vit(self.backbone, "Audio-MAE")

    def noise(self, x: torch.Tensor, generator: torch.Generator | None = None) -> torch.Tensor:
        """Uniform masking noise ``[B, N]`` for the waveform batch ``x`` (lowest kept)."""
        n_f, n_t = self.vit.patch_grid_for(x)
        device = generator.device if generator is not None else x.device
        return torch.rand(x.shape[0], n_f * n_t, generator=generator, device=device).to(x.device)

    def reconstruct(self, x: torch.Tensor, noise: torch.Tensor) -> Reconstruction:
        """Mask by ``noise``, encode the kept patches, decode every patch, score the masked."""
        vit = self.vit
        valid = vit.valid_tokens(x)
        keep_idx, mask, restore_idx = padded_random_masking(valid, self.mask_ratio, noise)
        latent = vit.forward_visible(x, keep_idx)  # [B, K, D], padding fill zeroed
        grid = vit.patch_grid_for(x)
        pred = self.decoder(latent, restore_idx, grid[1], valid)
        patches = vit.target_patches(x)
        sample_loss = self.criterion(pred, patches, mask, per_sample=True)
        return Reconstruction(pred, patches, mask, valid, grid, sample_loss, latent, keep_idx)

    def target(self, patches: torch.Tensor) -> torch.Tensor:
        """The regression target of log-mel patches (normalised if ``norm_pix_loss``)."""
        return self.criterion.target(patches)

    def training_step(
        self, batch: Batch, generator: torch.Generator | None = None
    ) -> dict[str, torch.Tensor]:
        x = self.views(batch, generator)[0] if self.augment is not None else batch["input"]
        out = self.reconstruct(x, self.noise(x, generator))
        kept_valid = torch.gather(out.valid, 1, out.keep_idx)
        weight = kept_valid[..., None].to(out.latent.dtype)
        # Mean of the visible real patches' tokens: what the encoder sees during training.
        embedding = ((out.latent * weight).sum(1) / weight.sum(1).clamp_min(1.0)).detach()
        return {
            "loss": out.sample_loss.mean(),
            "sample_loss": out.sample_loss,
            "embedding": embedding,
            "masked_fraction": out.mask.sum() / out.valid.sum(),
        }

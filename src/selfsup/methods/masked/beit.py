"""BEiT (Bao et al., 2021): predict the visual-token ids of blockwise-masked patches, with a
frozen tokenizer trained by selfsup itself (``vq_tokenizer``; workflow in docs/beit.md)."""

from __future__ import annotations

from typing import ClassVar

import torch
import torch.nn.functional as F
from torch import nn

from selfsup.backbones.base import Backbone
from selfsup.backbones.vit import ViTBackbone, as_vit
from selfsup.methods.base import Batch, Method
from selfsup.methods.masked.vq_tokenizer import VQTokenizer
from selfsup.methods.registry import LoadedArg, register_method
from selfsup.nn.masking import block_masking
from selfsup.registry import ConfigError


# Config key ``method.tokenizer`` (a run path) arrives as the loaded module ``tokenizer_model``.
@register_method(
    "beit",
    loads=(LoadedArg("tokenizer", "tokenizer_model", "vq_tokenizer"),),
    tiny={
        "backbone": "vit_tiny",
        "methods": {"tokenizer_model": "vq_tokenizer"},
        "runs": {"tokenizer": "vq_tokenizer"},
    },
)
class BEiT(Method):
    """Masked-image modelling on discrete targets in named stages:
    ``mask -> targets -> encode -> predict -> loss``.

    Blockwise masks (~``mask_ratio`` of the patches) replace patch embeddings by the ViT's
    ``mask_token``; a linear head over the final tokens predicts, for masked patches only, the
    id the frozen tokenizer gives the unmasked image (cross-entropy).

    Args:
        backbone: a ``ViTBackbone`` with the tokenizer's patch grid.
        augment: one view per image (``crop_flip``).
        tokenizer_model: the trained, frozen ``vq_tokenizer``. In a config it is
            ``method.tokenizer``: a checkpoint file or run directory the engine loads.
        mask_ratio: fraction of patches masked (paper: 0.4).
        min_block_patches: smallest masked block (paper: 16 on a 14x14 grid; 4 suits 8x8).
    """

    requires_tokens: ClassVar[bool] = True
    schedulable: ClassVar[dict[str, tuple[float, float]]] = {"mask_ratio": (0.0, 1.0)}

    @property
    def vit(self) -> ViTBackbone:
        """``backbone``, typed as the ViT it was checked to be."""
        return as_vit(self.backbone, "BEiT")

    def __init__(
        self,
        backbone: Backbone,
        augment: nn.Module,
        *,
        mask_ratio: float = 0.4,
        min_block_patches: int = 4,
        tokenizer_model: VQTokenizer | None = None,
    ) -> None:
        super().__init__(backbone, augment)
        backbone = as_vit(backbone, "BEiT")
        if not 0.0 < mask_ratio < 1.0:
            raise ValueError(f"BEiT mask_ratio must be in (0, 1), got {mask_ratio}")
        if tokenizer_model is None:
            raise ConfigError("beit needs method.tokenizer: a trained vq_tokenizer run dir")
        if tokenizer_model.vit.patch_grid != backbone.patch_grid:
            raise ConfigError(
                f"tokenizer patch grid {tokenizer_model.vit.patch_grid} differs from the "
                f"backbone's {backbone.patch_grid}; use the same img_size and patch_size"
            )
        backbone.train_mask_token()
        self.tokenizer = tokenizer_model.eval().requires_grad_(False)
        self.mask_ratio = mask_ratio
        self.min_block_patches = min_block_patches
        self.head = nn.Linear(backbone.feature_dim, tokenizer_model.quantizer.num_codes)
        nn.init.trunc_normal_(self.head.weight, std=0.02)
        nn.init.zeros_(self.head.bias)

    def train(self, mode: bool = True) -> BEiT:
        """Train mode for everything except the frozen tokenizer."""
        super().train(mode)
        self.tokenizer.eval()
        return self

    def mask(self, batch_size: int, generator: torch.Generator | None = None) -> torch.Tensor:
        """Blockwise bool mask ``[B, N]`` (True = masked)."""
        h, w = self.vit.patch_grid
        device = self.vit.mask_token.device
        return block_masking(
            batch_size, h, w, self.mask_ratio, generator, self.min_block_patches, device=device
        )

    @torch.no_grad()
    def targets(self, images: torch.Tensor) -> torch.Tensor:
        """Tokenizer ids ``[B, N]`` of the unmasked images (in the tokenizer's normalisation)."""
        return self.tokenizer.tokenize(self._to_tokenizer_space(images))

    def encode(self, images: torch.Tensor, mask: torch.Tensor) -> torch.Tensor:
        """Final tokens ``[B, P + N, D]`` with masked patches replaced by the mask token."""
        return self.vit.forward_tokens(images, mask)

    def predict(self, tokens: torch.Tensor) -> torch.Tensor:
        """Logits over visual tokens for every patch: ``[B, N, num_codes]``."""
        return self.head(tokens[:, self.vit.num_prefix_tokens :])

    def loss(self, logits: torch.Tensor, ids: torch.Tensor, mask: torch.Tensor) -> torch.Tensor:
        """Cross-entropy on masked patches only: ``[B, N, V]``, ``[B, N]``, ``[B, N]``."""
        return F.cross_entropy(logits[mask], ids[mask])

    def training_step(
        self, batch: Batch, generator: torch.Generator | None = None
    ) -> dict[str, torch.Tensor]:
        (view,) = self.views(batch, generator)[:1]
        mask = self.mask(view.shape[0], generator)
        ids = self.targets(view)
        tokens = self.encode(view, mask)  # [B, P + N, D]
        logits = self.predict(tokens)  # [B, N, V]
        loss = self.loss(logits, ids, mask)
        accuracy = (logits[mask].argmax(-1) == ids[mask]).float().mean()
        # CLS of the masked view: free, and what the encoder sees in training.
        return {"loss": loss, "token_accuracy": accuracy, "embedding": tokens[:, 0].detach()}

    def _to_tokenizer_space(self, images: torch.Tensor) -> torch.Tensor:
        """Re-normalise BEiT's views with the tokenizer's mean/std when the two differ."""
        mine, theirs = _mean_std(self.augment), _mean_std(self.tokenizer.augment)
        if mine is None or theirs is None:
            return images
        if all(torch.equal(a, b) for a, b in zip(mine, theirs, strict=True)):
            return images
        pixels = images * mine[1].to(images) + mine[0].to(images)
        return (pixels - theirs[0].to(images)) / theirs[1].to(images)


def _mean_std(augment: nn.Module | None) -> tuple[torch.Tensor, torch.Tensor] | None:
    """An augment's normalisation ``(mean, std)`` buffers, if it has them."""
    mean, std = getattr(augment, "mean", None), getattr(augment, "std", None)
    if isinstance(mean, torch.Tensor) and isinstance(std, torch.Tensor):
        return mean, std
    return None

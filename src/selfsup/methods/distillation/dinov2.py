"""DINOv2-style pretraining (Oquab et al., 2023): DINO's image-level loss + iBOT masked
patch-token distillation + KoLeo, with optional Sinkhorn-Knopp centring."""

from __future__ import annotations

from typing import ClassVar

import torch
from torch import nn

from selfsup.backbones.base import Backbone
from selfsup.backbones.vit import ViTBackbone, as_vit
from selfsup.losses.dino import teacher_stats
from selfsup.losses.ibot import IBOTPatchLoss
from selfsup.losses.koleo import KoLeoLoss
from selfsup.methods.base import Batch, encode_by_shape
from selfsup.methods.distillation.dino import DINO, NUM_GLOBAL
from selfsup.methods.registry import register_method
from selfsup.nn.centering import CenteringMode, TeacherCentering
from selfsup.nn.dino_head import DINOHead
from selfsup.nn.masking import block_masking


@register_method("dinov2", tiny={"backbone": "vit_tiny"})
class DINOv2(DINO):
    """ViT student sees block-masked global crops (and unmasked local crops); the EMA teacher
    sees the intact global crops.

    Losses: DINO on the CLS tokens (every student view vs each other teacher global view),
    iBOT on patch tokens at masked positions only, and ``koleo_weight`` x KoLeo on the
    student's backbone CLS features of each global crop. A ``mask_sample_probability``
    fraction of the global-crop images is masked, with block-mask ratios spread evenly over
    ``mask_ratio`` (DINOv2: 0.5 and 0.1-0.5). Patch targets are centred over the masked
    tokens only. ``separate_heads`` gives patch tokens their own head (DINOv2) instead of
    sharing the CLS head (iBOT). Other arguments are :class:`DINO`'s; ``centering`` applies to
    both heads (DINOv2: ``"sinkhorn"``).
    """

    modality = ("image",)  # the patch-token loss needs the image ViT's patch grid

    requires_tokens: ClassVar[bool] = True

    def __init__(
        self,
        backbone: Backbone,
        augment: nn.Module,
        *,
        out_dim: int = 65536,
        patch_out_dim: int = 65536,
        hidden_dim: int = 2048,
        bottleneck_dim: int = 256,
        head_layers: int = 3,
        separate_heads: bool = True,
        student_temp: float = 0.1,
        teacher_temp_start: float = 0.04,
        teacher_temp: float = 0.07,
        teacher_temp_warmup_steps: int = 37530,
        centering: CenteringMode = "sinkhorn",
        center_momentum: float = 0.9,
        momentum_base: float = 0.992,
        momentum_final: float = 1.0,
        freeze_last_layer_steps: int = 1251,
        ibot_weight: float = 1.0,
        koleo_weight: float = 0.1,
        mask_ratio: tuple[float, float] = (0.1, 0.5),
        mask_sample_probability: float = 0.5,
    ) -> None:
        super().__init__(
            backbone,
            augment,
            out_dim=out_dim,
            hidden_dim=hidden_dim,
            bottleneck_dim=bottleneck_dim,
            head_layers=head_layers,
            student_temp=student_temp,
            teacher_temp_start=teacher_temp_start,
            teacher_temp=teacher_temp,
            teacher_temp_warmup_steps=teacher_temp_warmup_steps,
            centering=centering,
            center_momentum=center_momentum,
            momentum_base=momentum_base,
            momentum_final=momentum_final,
            freeze_last_layer_steps=freeze_last_layer_steps,
        )
        backbone = as_vit(backbone, "DINOv2")
        lo, hi = mask_ratio
        if not 0.0 <= lo <= hi < 1.0 or not 0.0 <= mask_sample_probability <= 1.0:
            raise ValueError(
                "DINOv2 needs 0 <= mask_ratio[0] <= mask_ratio[1] < 1 and "
                f"mask_sample_probability in [0, 1], got {mask_ratio} and "
                f"{mask_sample_probability}"
            )
        if ibot_weight < 0 or koleo_weight < 0:
            raise ValueError(f"loss weights must be >= 0, got {ibot_weight} and {koleo_weight}")
        if not separate_heads and patch_out_dim != out_dim:
            raise ValueError("shared heads need patch_out_dim == out_dim")
        self.patch_head = (
            DINOHead(backbone.feature_dim, patch_out_dim, hidden_dim, bottleneck_dim, head_layers)
            if separate_heads
            else self.head  # iBOT: one head for CLS and patch tokens
        )
        self.teacher_patch_head = self.ema.track(self.patch_head)  # shared: the CLS teacher
        self.patch_centering = TeacherCentering(patch_out_dim, centering, center_momentum)
        self.patch_criterion = IBOTPatchLoss(student_temp)
        self.koleo = KoLeoLoss()
        self.ibot_weight, self.koleo_weight = ibot_weight, koleo_weight
        self.mask_ratio, self.mask_sample_probability = (lo, hi), mask_sample_probability

    @property
    def vit(self) -> ViTBackbone:
        """``backbone``, typed as the ViT it was checked to be."""
        return as_vit(self.backbone, "DINOv2")

    def make_masks(
        self, batch: int, grid: tuple[int, int], generator: torch.Generator | None
    ) -> torch.Tensor:
        """Bool ``[batch, h * w]``: the first ``round(p * batch)`` rows (in random order) get
        block masks with ratios spread evenly over ``mask_ratio``; the rest none."""
        h, w = grid
        masks = torch.zeros(batch, h * w, dtype=torch.bool)
        count = round(self.mask_sample_probability * batch)
        lo, hi = self.mask_ratio
        order = torch.randperm(batch, generator=generator, device=masks.device)
        for i in range(count):
            edge = lo + (hi - lo) * (i + torch.rand((), generator=generator).item()) / count
            masks[order[i]] = block_masking(1, h, w, edge, generator)[0].cpu()
        return masks

    def training_step(
        self, batch: Batch, generator: torch.Generator | None = None
    ) -> dict[str, torch.Tensor]:
        views = self.views(batch, generator)
        if len(views) < NUM_GLOBAL:
            raise ValueError(f"DINOv2 needs at least {NUM_GLOBAL} views, got {len(views)}")
        n = views[0].shape[0]
        glob = torch.cat(views[:NUM_GLOBAL])  # [2n, C, H, W]
        vit = self.vit
        grid = vit.grid_for(glob.shape[-2], glob.shape[-1])
        mask = self.make_masks(glob.shape[0], grid, generator).to(glob.device)  # [2n, N]
        tokens = vit.forward_tokens(glob, token_mask=mask)  # [2n, 1 + N, D]
        cls = [tokens[:, 0]]
        if len(views) > NUM_GLOBAL:
            cls.append(encode_by_shape(lambda x: vit.forward_tokens(x)[:, 0], views[2:]))
        frozen = self.ema.count() < self.freeze_last_layer_steps
        student = list(self.head(torch.cat(cls), freeze_last_layer=frozen).split(n))
        p = vit.num_prefix_tokens
        s_patch = self.patch_head(tokens[:, p:][mask], freeze_last_layer=frozen)  # [M, K']
        with torch.no_grad():
            t_tokens = self.teacher_backbone.forward_tokens(glob)  # [2n, 1 + N, D]
            temp = self.teacher_temp_now()
            targets = self.centering(self.teacher_head(t_tokens[:, 0]), temp)  # [2n, K]
            t_patch = self.patch_centering(self.teacher_patch_head(t_tokens[:, p:][mask]), temp)
        dino = self.criterion(student, list(targets.split(n)))
        # Dense [2n, N, K'] grids with zeros off the mask: the loss counts masked rows only.
        dense_s = s_patch.new_zeros(*mask.shape, s_patch.shape[-1]).index_put((mask,), s_patch)
        dense_t = t_patch.new_zeros(*mask.shape, t_patch.shape[-1]).index_put((mask,), t_patch)
        ibot = self.patch_criterion(dense_s, dense_t, mask)
        koleo = torch.stack([self.koleo(c) for c in tokens[:, 0].split(n)]).mean()
        loss = dino + self.ibot_weight * ibot + self.koleo_weight * koleo
        return {
            "loss": loss,
            "embedding": tokens[:n, 0].detach(),
            "dino_loss": dino.detach(),
            "ibot_loss": ibot.detach(),
            "koleo_loss": koleo.detach(),
            "teacher_temp": torch.tensor(temp),
            "momentum": torch.tensor(self.ema.momentum),
            **teacher_stats(targets),
        }

"""data2vec for speech (Baevski et al., 2022): a span-masked student regresses an EMA teacher's
averaged, instance-normalised top-K block outputs at the masked frames."""

from __future__ import annotations

from typing import ClassVar, Literal

import torch
import torch.nn.functional as F
from torch import nn

from selfsup.backbones.audio_base import AudioBackbone, mean_of_valid
from selfsup.backbones.audio_vit import AudioViTBackbone
from selfsup.backbones.base import Backbone
from selfsup.methods.audio.span_masked import SpanMaskedFrames
from selfsup.methods.base import Batch, Method
from selfsup.methods.registry import register_method
from selfsup.nn.ema_teacher import EMATeacher
from selfsup.nn.layer_targets import layer_targets
from selfsup.nn.span_masking import WAV2VEC2_SPANS

RegressionLoss = Literal["l2", "smooth_l1"]


def as_audio_backbone(backbone: Backbone, owner: str) -> AudioBackbone:
    """``backbone`` checked to be an audio token encoder (``wav2vec2_*`` or ``audio_vit_*``)."""
    if not isinstance(backbone, AudioBackbone):
        raise ValueError(
            f"{owner} needs an audio backbone (wav2vec2_* or audio_vit_*), got "
            f"{type(backbone).__name__}"
        )
    return backbone


@register_method(
    "data2vec_audio", tiny={"backbone": "wav2vec2_tiny", "args": {"top_k": 2, "mask_span": 2}}
)
class Data2VecAudio(SpanMaskedFrames, Method):
    """Audio encoder student on span-masked clips; EMA teacher (whole backbone) on intact ones.

    Masks are wav2vec 2.0's (:class:`~selfsup.nn.span_masking.SpanMasking`: spans of
    ``mask_span`` frames started with probability ``mask_start_prob``, real frames only); on a
    spectrogram transformer the spans run over time columns and cover every mel row.
    Targets: :func:`~selfsup.nn.layer_targets.layer_targets` of the teacher's last ``top_k``
    block outputs, instance-normalised over each clip's real frames only. A linear head on
    the student's final tokens regresses them at masked real frames.

    Args:
        backbone: the student being pretrained (``wav2vec2_*`` or ``audio_vit_*``).
        augment: optional view recipe; None: the batch's clips as is (the paper uses none).
        top_k: teacher blocks averaged into the target (paper: 8; capped at the depth).
        mask_start_prob / mask_span / mask_min_spans: span masking (paper: 0.065 / 10 / 2).
        loss: ``"l2"`` (the speech recipe) or ``"smooth_l1"`` with ``loss_beta``.
        momentum_base / momentum_final / momentum_anneal_steps: teacher decay, linear
            ``base -> final`` over the anneal steps, then constant (paper: 0.999 -> 0.9999
            over 30k steps).
    """

    modality: ClassVar[str] = "audio"
    requires_tokens: ClassVar[bool] = True
    reports_sample_loss: ClassVar[bool] = True

    def __init__(
        self,
        backbone: Backbone,
        augment: nn.Module | None = None,
        *,
        top_k: int = 8,
        mask_start_prob: float = WAV2VEC2_SPANS.start_prob,
        mask_span: int = WAV2VEC2_SPANS.span,
        mask_min_spans: int = WAV2VEC2_SPANS.min_spans,
        loss: RegressionLoss = "l2",
        loss_beta: float = 0.25,
        momentum_base: float = 0.999,
        momentum_final: float = 0.9999,
        momentum_anneal_steps: int = 30000,
    ) -> None:
        super().__init__(backbone, augment)
        audio = as_audio_backbone(backbone, "data2vec_audio")
        if top_k < 1:
            raise ValueError(f"data2vec_audio top_k must be >= 1, got {top_k}")
        if loss not in ("l2", "smooth_l1") or not loss_beta > 0:
            raise ValueError(
                f"data2vec_audio loss must be 'l2' or 'smooth_l1' with beta > 0, got {loss}"
            )
        self.set_span_masking(mask_start_prob, mask_span, mask_min_spans)
        self.top_k = min(top_k, int(getattr(audio, "depth", top_k)))
        self.loss_kind, self.loss_beta = loss, float(loss_beta)
        self.regression_head = nn.Linear(audio.feature_dim, audio.feature_dim)
        self.ema = EMATeacher(
            "linear", momentum_base, momentum_final, momentum_anneal_steps, owner="data2vec_audio"
        )
        self.teacher_backbone = self.ema.track(audio)

    @property
    def audio(self) -> AudioBackbone:
        """``backbone``, typed as the audio encoder it was checked to be."""
        return as_audio_backbone(self.backbone, "data2vec_audio")

    def mask(self, x: torch.Tensor, generator: torch.Generator | None = None) -> torch.Tensor:
        """Span mask ``[B, N]`` (True = masked) over the real tokens of the waveforms ``x``."""
        valid = self.audio.valid_tokens(x)
        audio = self.audio
        if not isinstance(audio, AudioViTBackbone):
            return self.span_mask(valid, generator).to(x.device)
        n_f, n_t = audio.patch_grid_for(x)
        columns = self.span_mask(valid.view(-1, n_f, n_t)[:, 0], generator).to(x.device)
        return columns[:, None, :].expand(-1, n_f, -1).reshape(x.shape[0], n_f * n_t)

    @torch.no_grad()
    def targets(self, x: torch.Tensor, valid: torch.Tensor) -> torch.Tensor:
        """Teacher targets ``[B, N, D]`` of the intact clips (padding left out of the norm)."""
        teacher = self.teacher_backbone
        assert isinstance(teacher, AudioBackbone)
        return layer_targets(teacher.forward_block_outputs(x), self.top_k, valid=valid)

    def masked_loss(self, x: torch.Tensor, mask: torch.Tensor) -> dict[str, torch.Tensor]:
        """Per-clip regression loss ``[B]`` at masked real tokens, and the student's tokens."""
        valid = self.audio.valid_tokens(x)
        mask = mask & valid
        tokens = self.audio.forward_tokens(x, token_mask=mask)  # [B, N, D]
        pred = self.regression_head(tokens).float()
        target = self.targets(x, valid)
        if self.loss_kind == "l2":
            per_token = F.mse_loss(pred, target, reduction="none").mean(-1)
        else:
            per_token = F.smooth_l1_loss(pred, target, reduction="none", beta=self.loss_beta)
            per_token = per_token.mean(-1)
        weight = mask.to(per_token.dtype)  # [B, N]
        sample_loss = (per_token * weight).sum(1) / weight.sum(1).clamp_min(1.0)
        return {
            "sample_loss": sample_loss,
            "tokens": tokens,
            "valid": valid,
            "target_std": target[mask].std(dim=0).mean()
            if mask.sum() > 1
            else target.new_zeros(()),
            "masked_fraction": mask.sum() / valid.sum(),
        }

    def training_step(
        self, batch: Batch, generator: torch.Generator | None = None
    ) -> dict[str, torch.Tensor]:
        x = self.views(batch, generator)[0] if self.augment is not None else batch["input"]
        out = self.masked_loss(x, self.mask(x, generator))
        return {
            "loss": out["sample_loss"].mean(),
            "sample_loss": out["sample_loss"],
            "embedding": mean_of_valid(out["tokens"], out["valid"]).detach(),
            "target_std": out["target_std"],
            "masked_fraction": out["masked_fraction"],
            "momentum": torch.tensor(self.ema.momentum),
        }

    def on_step_end(self, step: int, max_steps: int) -> None:
        """Move the teacher towards the student with this step's decay."""
        self.ema.step(step, max_steps)

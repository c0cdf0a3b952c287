"""wav2vec 2.0 (Baevski et al., 2020): mask spans of conv frames, contextualise them with the
transformer, and pick each masked frame's quantized local feature among distractors."""

from __future__ import annotations

from typing import ClassVar

import torch
from torch import nn

from selfsup.backbones.audio_base import mean_of_valid
from selfsup.backbones.audio_wav2vec2 import Wav2Vec2Backbone
from selfsup.backbones.base import Backbone
from selfsup.losses.wav2vec2 import Wav2Vec2Loss
from selfsup.methods.audio.span_masked import SpanMaskedFrames
from selfsup.methods.base import Batch, Method
from selfsup.methods.registry import register_method
from selfsup.nn.gumbel_quantizer import GumbelVectorQuantizer
from selfsup.nn.span_masking import WAV2VEC2_SPANS
from selfsup.registry import ConfigError

TINY_ARGS = {"final_dim": 32, "codewords": 16, "codevector_dim": 32, "num_distractors": 10}


def as_wav2vec2(backbone: Backbone, method: str) -> Wav2Vec2Backbone:
    """``backbone`` if it is a wav2vec2-style encoder (split local / context API), else a
    one-line ConfigError naming ``method``."""
    if not isinstance(backbone, Wav2Vec2Backbone):
        raise ConfigError(
            f"{method} needs a wav2vec2_* backbone (local_features / contextualize), got "
            f"{type(backbone).__name__}"
        )
    return backbone


@register_method(
    "wav2vec2",
    backbone_tags={"local_features": True},
    tiny={"backbone": "wav2vec2_tiny", "args": TINY_ARGS},
)
class Wav2Vec2(SpanMaskedFrames, Method):
    """Stages: ``local`` (conv frames, real ones) -> ``mask`` (spans) -> ``quantize`` (the
    unmasked, normalised local features) -> ``contextualize`` (masked inputs) -> ``loss``.

    Logged each step: the loss terms, the positive's accuracy, the codebooks' perplexities
    (``code_perplexity`` near 1 is a collapsed codebook; at most ``groups * codewords``), the
    Gumbel temperature and the masked fraction. The per-utterance loss is ``sample_loss``.

    Args:
        backbone: a ``wav2vec2_*`` encoder.
        augment: unused (the masks are the method's only randomness besides dropout).
        mask_start_prob / mask_span: span masking (paper: 0.065, 10; about 49% masked).
        mask_min_spans: spans every clip gets at least (fairseq: 2; short clips mask more).
        final_dim: the contrastive space both sides are projected to (paper Base: 256).
        groups / codewords / codevector_dim: the product quantizer (2 x 320, 256).
        temperature: Gumbel temperature ``(start, floor, decay per step)`` (2, 0.5, 0.999995).
        num_distractors / logit_temperature: K = 100 and 0.1.
        diversity_weight / penalty_weight: 0.1 and 10 (the feature L2 penalty).
    """

    modality: ClassVar[str] = "audio"
    requires_tokens: ClassVar[bool] = True
    reports_sample_loss: ClassVar[bool] = True

    def __init__(
        self,
        backbone: Backbone,
        augment: nn.Module | None = None,
        *,
        mask_start_prob: float = WAV2VEC2_SPANS.start_prob,
        mask_span: int = WAV2VEC2_SPANS.span,
        mask_min_spans: int = WAV2VEC2_SPANS.min_spans,
        final_dim: int = 256,
        groups: int = 2,
        codewords: int = 320,
        codevector_dim: int = 256,
        temperature: tuple[float, float, float] = (2.0, 0.5, 0.999995),
        num_distractors: int = 100,
        logit_temperature: float = 0.1,
        diversity_weight: float = 0.1,
        penalty_weight: float = 10.0,
    ) -> None:
        super().__init__(backbone, augment)
        encoder = as_wav2vec2(backbone, "wav2vec2")
        self.set_span_masking(mask_start_prob, mask_span, mask_min_spans)
        encoder.train_mask_token()
        start, floor, decay = temperature  # a YAML list arrives as a list
        self.quantizer = GumbelVectorQuantizer(
            encoder.local_dim, groups, codewords, codevector_dim, final_dim, (start, floor, decay)
        )
        self.final_proj = nn.Linear(encoder.feature_dim, final_dim)
        self.criterion = Wav2Vec2Loss(
            num_distractors, logit_temperature, diversity_weight, penalty_weight
        )

    @property
    def encoder_w2v(self) -> Wav2Vec2Backbone:
        """``backbone``, typed as the wav2vec2 encoder it was checked to be."""
        return as_wav2vec2(self.backbone, "wav2vec2")

    def training_step(
        self, batch: Batch, generator: torch.Generator | None = None
    ) -> dict[str, torch.Tensor]:
        encoder = self.encoder_w2v
        feats, valid = encoder.local_features(batch["input"])  # [B, N, C], [B, N]
        mask = self.span_mask(valid, generator)
        quantized = self.quantizer(encoder.normalize_local(feats), mask, generator)
        context = encoder.contextualize(feats, valid, token_mask=mask)  # [B, N, D]
        terms = self.criterion(
            self.final_proj(context),
            quantized.quantized,
            mask,
            diversity_loss=quantized.diversity_loss,
            features=feats,
            valid=valid,
            generator=generator,
        )
        assert terms.per_utterance is not None
        sample_loss = terms.per_utterance + terms.diversity + terms.feature_penalty
        real = valid.sum().clamp(min=1)
        return {
            "loss": sample_loss.mean(),
            "sample_loss": sample_loss,
            "contrastive": terms.contrastive.detach(),
            "diversity": terms.diversity.detach(),
            "feature_penalty": terms.feature_penalty.detach(),
            "accuracy": terms.accuracy,
            "code_perplexity": quantized.code_perplexity.detach(),
            "prob_perplexity": quantized.prob_perplexity.detach(),
            "gumbel_temperature": torch.tensor(quantized.temperature, device=context.device),
            "masked_fraction": (mask.sum() / real).detach().float(),
            "embedding": mean_of_valid(context, valid).detach(),
        }

    def on_step_end(self, step: int, max_steps: int) -> None:
        self.quantizer.record_step(step)

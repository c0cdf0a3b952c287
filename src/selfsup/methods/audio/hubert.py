"""HuBERT (Hsu et al., 2021): predict the cluster id of every masked frame from the rest.

The targets are frame labels that ``selfsup cluster`` wrote (k-means of MFCC frames, then of a
trained layer) and that the audio source puts into each batch (``data.frame_labels``), aligned
with its crops; see docs/hubert.md for the two-iteration workflow.
"""

from __future__ import annotations

from typing import Any, ClassVar

import torch
from torch import nn

from selfsup.backbones.audio_base import mean_of_valid
from selfsup.backbones.audio_conv_encoder import conv_output_lengths
from selfsup.backbones.audio_wav2vec2 import Wav2Vec2Backbone
from selfsup.backbones.base import Backbone
from selfsup.data.frame_labels import FrameLabelsError
from selfsup.losses.hubert import frame_accuracy, frame_cross_entropy
from selfsup.losses.wav2vec2 import feature_penalty
from selfsup.methods.audio.span_masked import SpanMaskedFrames
from selfsup.methods.audio.wav2vec2 import as_wav2vec2
from selfsup.methods.base import Batch, Method
from selfsup.methods.registry import register_method
from selfsup.nn.codeword_head import CodewordCosineHead
from selfsup.nn.span_masking import HUBERT_SPANS
from selfsup.registry import ConfigError


@register_method(
    "hubert",
    backbone_tags={"frames": True},
    tiny={"backbone": "wav2vec2_tiny", "args": {"num_clusters": 16, "final_dim": 32}},
)
class HuBERT(SpanMaskedFrames, Method):
    """Stages: ``mask`` (spans of frames) -> ``encode`` (mask tokens in) -> ``predict``
    (cosine logits against one codeword per cluster, the paper's head) -> ``loss``
    (cross-entropy on masked frames; ``unmasked_weight`` times that on the others; the
    conv features' L2 penalty, as fairseq's HuBERT).

    Batches must carry ``frame_labels`` (int64 ``[B, F]``, -1 = none) with one label per
    encoder frame from the first; the engine checks the file against the encoder first
    (:meth:`check_train_data`).

    Args:
        backbone: an audio encoder with one token per frame (``wav2vec2_*``).
        augment: unused.
        num_clusters: K of the frame labels (100 for MFCC targets, 500 for a layer's).
        mask_start_prob / mask_span: span masking (fairseq mask_prob 0.8 over 10 frames).
        mask_min_spans: spans every clip gets at least (fairseq: 2; short clips mask more).
        final_dim / logit_temperature: the head's projection width (256) and temperature (0.1).
        unmasked_weight: weight of the loss on unmasked frames (paper: 0).
        penalty_weight: weight of the mean square of the conv features (fairseq: 10).
    """

    modality: ClassVar[str] = "audio"
    requires_tokens: ClassVar[bool] = True
    reports_sample_loss: ClassVar[bool] = True

    def __init__(
        self,
        backbone: Backbone,
        augment: nn.Module | None = None,
        *,
        num_clusters: int = 100,
        mask_start_prob: float = HUBERT_SPANS.start_prob,
        mask_span: int = HUBERT_SPANS.span,
        mask_min_spans: int = HUBERT_SPANS.min_spans,
        final_dim: int = 256,
        logit_temperature: float = 0.1,
        unmasked_weight: float = 0.0,
        penalty_weight: float = 10.0,
    ) -> None:
        super().__init__(backbone, augment)
        encoder = as_wav2vec2(backbone, "hubert")
        self.set_span_masking(mask_start_prob, mask_span, mask_min_spans)
        if unmasked_weight < 0:
            raise ConfigError(f"method.unmasked_weight must be >= 0, got {unmasked_weight}")
        self.unmasked_weight, self.penalty_weight = unmasked_weight, penalty_weight
        encoder.train_mask_token()
        self.head = CodewordCosineHead(
            encoder.feature_dim, num_clusters, final_dim, logit_temperature
        )

    @property
    def audio(self) -> Wav2Vec2Backbone:
        """``backbone``, typed as the audio encoder it was checked to be."""
        return as_wav2vec2(self.backbone, "hubert")

    def targets(self, batch: Batch, valid: torch.Tensor) -> torch.Tensor:
        """The batch's ``frame_labels`` cut or padded (-1) to the encoder's ``[B, N]`` frames;
        one-line error when a real frame has no label or a label is not below K."""
        if "frame_labels" not in batch:
            raise ConfigError(
                "hubert needs frame labels in its batches: set data.frame_labels to a file "
                "written by selfsup cluster (docs/hubert.md)"
            )
        labels = batch["frame_labels"].to(valid.device).long()[:, : valid.shape[1]]
        labels = nn.functional.pad(labels, (0, valid.shape[1] - labels.shape[1]), value=-1)
        if bool((valid & (labels < 0)).any()):
            raise FrameLabelsError(
                "frame labels cover fewer frames than the encoder gives: were they made for "
                "another backbone or hop? (rerun selfsup cluster with this run's config)"
            )
        if bool((labels >= self.head.num_codes).any()):
            raise ConfigError(
                f"frame labels reach beyond method.num_clusters {self.head.num_codes}"
            )
        return labels.clamp(min=0)

    def training_step(
        self, batch: Batch, generator: torch.Generator | None = None
    ) -> dict[str, torch.Tensor]:
        feats, valid = self.audio.local_features(batch["input"])  # [B, N, C], [B, N]
        targets = self.targets(batch, valid)
        mask = self.span_mask(valid, generator)
        tokens = self.audio.contextualize(feats, valid, token_mask=mask)  # [B, N, D]
        logits = self.head(tokens)  # [B, N, K]
        masked, _ = frame_cross_entropy(logits, targets, mask)
        penalty = self.penalty_weight * feature_penalty(feats, valid)
        sample_loss = masked + penalty
        out: dict[str, torch.Tensor] = {"masked_accuracy": frame_accuracy(logits, targets, mask)}
        if self.unmasked_weight > 0:
            unmasked, _ = frame_cross_entropy(logits, targets, valid & ~mask)
            sample_loss = sample_loss + self.unmasked_weight * unmasked
            out["unmasked_loss"] = unmasked.mean().detach()
        real = valid.sum().clamp(min=1)
        return {
            "loss": sample_loss.mean(),
            "sample_loss": sample_loss,
            "masked_loss": masked.mean().detach(),
            "feature_penalty": penalty.detach(),
            **out,
            "masked_fraction": (mask.sum() / real).float().detach(),
            "embedding": mean_of_valid(tokens, valid).detach(),
        }

    def check_train_data(self, dataset: Any) -> None:
        """One-line errors before training when the data has no frame labels or they do not
        fit this encoder: another hop or sample rate, other frame counts, another K."""
        targets = getattr(dataset, "frame_targets", None)
        if targets is None:
            raise ConfigError(
                "hubert needs data.frame_labels: a file written by selfsup cluster (docs/hubert.md)"
            )
        encoder, where = as_wav2vec2(self.backbone, "hubert"), targets.source.path
        rate = getattr(dataset, "sample_rate", encoder.sample_rate)
        if targets.hop != encoder.hop_length or rate != encoder.sample_rate:
            raise FrameLabelsError(
                f"{where}: labels every {targets.hop} samples at {rate} Hz, but the encoder's "
                f"frames are every {encoder.hop_length} samples at {encoder.sample_rate} Hz"
            )
        if targets.source.num_clusters != self.head.num_codes:
            raise FrameLabelsError(
                f"{where}: labels have K={targets.source.num_clusters} clusters but "
                f"method.num_clusters is {self.head.num_codes}"
            )
        conv = encoder.feature_encoder
        lengths = dataset.lengths.clamp(min=conv.receptive_field)
        frames = conv_output_lengths(lengths, conv.kernels, conv.strides)
        wrong = (frames != targets.counts).nonzero()
        if len(wrong):
            i = int(wrong[0])
            raise FrameLabelsError(
                f"{where}: clip {dataset.clip_keys()[i]} has {int(targets.counts[i])} frame "
                f"labels but the encoder gives {int(frames[i])} frames (labels of "
                f"{targets.source.features}; run selfsup cluster with this run's --config)"
            )

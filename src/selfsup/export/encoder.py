"""``PretrainedEncoder``: a trained backbone with the preprocessing it was evaluated with."""

from __future__ import annotations

from typing import Any

import torch
from torch import nn

from selfsup.backbones.base import Backbone
from selfsup.export.info import EncoderInfo
from selfsup.export.preprocess import preprocess_images, tokenize, waveform_batch


class PretrainedEncoder(nn.Module):
    """A backbone in eval mode plus what turns raw inputs into what it reads.

    - ``backbone``: the selfsup backbone (``forward_features -> [B, D]``, and
      ``forward_tokens`` where it has tokens);
    - ``info``: the :class:`~selfsup.export.info.EncoderInfo` (``selfsup-encoder.json``);
    - ``preprocess(x)``: images (uint8 or [0, 1] float tensors, PIL images, lists of them)
      to normalised float batches; text (a string or a list) to padded token ids; audio (a
      waveform at ``info.input["sample_rate"]``, a batch, or a list of clips) to a NaN-padded
      float32 ``[B, T]``;
    - ``embed(x)``: ``preprocess`` then pooled features ``[B, feature_dim]``, without grad;
    - ``forward(x)``: pooled features of already preprocessed input (for fine-tuning).
    """

    def __init__(self, backbone: Backbone, info: EncoderInfo) -> None:
        super().__init__()
        self.backbone = backbone
        self.info = info
        self.eval()

    @property
    def feature_dim(self) -> int:
        """Size of one embedding."""
        return int(self.info.feature_dim)

    @property
    def modality(self) -> str:
        """``image`` or ``text``."""
        return self.info.modality

    @property
    def tokenizer(self) -> Any:
        """The text backbone's tokenizer (None for images)."""
        return getattr(self.backbone, "tokenizer", None)

    def _device(self) -> torch.device:
        first = next(self.backbone.parameters(), None)
        return first.device if first is not None else torch.device("cpu")

    def preprocess(self, x: Any) -> torch.Tensor:
        """Raw input -> what ``forward`` takes, on the backbone's device.

        Token-id tensors of a text encoder pass through unchanged.
        """
        if self.modality == "text":
            if isinstance(x, torch.Tensor):
                return x.to(self._device())
            if self.tokenizer is None:
                raise ValueError("this text encoder carries no tokenizer; pass token ids")
            max_len = int(self.info.input.get("max_len") or 512)
            return tokenize(x, self.tokenizer, max_len).to(self._device())
        if self.modality == "image":
            spec = self.info.input
            channels = int(spec.get("channels") or 3)
            if isinstance(x, torch.Tensor):
                x = x.to(self._device())
            return preprocess_images(
                x, spec.get("size"), spec.get("mean"), spec.get("std"), channels
            )
        if self.modality == "audio":
            return waveform_batch(x).to(self._device())
        return torch.as_tensor(x).to(self._device())

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        """Pooled features ``[B, feature_dim]`` of preprocessed input."""
        return self.backbone.forward_features(x)

    @torch.no_grad()
    def embed(self, x: Any) -> torch.Tensor:
        """Pooled features ``[B, feature_dim]`` of raw input (see :meth:`preprocess`)."""
        return self.backbone.forward_features(self.preprocess(x))

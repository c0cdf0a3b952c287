"""The one interface every encoder exposes, whatever its modality."""

from __future__ import annotations

from typing import ClassVar

import torch
from torch import nn


class Backbone(nn.Module):
    """An encoder: ``forward_features -> [B, D]`` and, where it has tokens, ``forward_tokens``.

    Subclasses set ``feature_dim`` and ``modality`` (the name of a registered modality spec;
    the only place a backbone declares it) and implement ``forward_features``; token
    models also set ``has_tokens = True`` and implement ``forward_tokens``. ``channels_last``
    says whether the engine should convert the model and its inputs to channels-last memory
    format (it pays for conv nets on CPU and GPU; not for transformers).
    """

    feature_dim: int
    modality: ClassVar[str] = "image"
    has_tokens: ClassVar[bool] = False
    channels_last: ClassVar[bool] = False

    def forward_features(self, x: torch.Tensor) -> torch.Tensor:
        """Pooled features ``[B, D]``."""
        raise NotImplementedError

    def forward_tokens(self, x: torch.Tensor) -> torch.Tensor:
        """Token features ``[B, N, D]`` (only for models with tokens)."""
        raise TypeError(f"{type(self).__name__} has no tokens; use forward_features")

    def forward_map(self, x: torch.Tensor) -> torch.Tensor:
        """A spatial feature map ``[B, feature_dim, h, w]`` (dense heads: decoders of pretext
        tasks); conv nets give their last map, token models their patch tokens on the grid."""
        raise TypeError(f"{type(self).__name__} has no spatial feature map")

    def stem_conv(self) -> nn.Conv2d | None:
        """The first conv on the raw input, for data-dependent init (None: the model has none)."""
        return None

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return self.forward_features(x)

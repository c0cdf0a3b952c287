"""What every audio backbone shares: NaN-padded waveforms in, tokens with a validity mask out.

An audio batch is a float waveform ``[B, T]`` padded at the end with NaN
(:mod:`selfsup.nn.audio_padding`). Each backbone turns it into ``N`` tokens and knows which of
them come from real samples (``valid_tokens``); attention hides the others as keys, and
pooling averages only the real ones, so a clip's features never depend on its batch.
"""

from __future__ import annotations

from typing import ClassVar

import torch
from torch import nn

from selfsup.backbones.base import Backbone


class AudioBackbone(Backbone):
    """Base of the audio encoders: ``modality = "audio"``, tokens, a learned mask token.

    Subclasses set ``sample_rate`` and ``feature_dim``, create ``mask_token`` with
    :meth:`_make_mask_token`, and implement the abstract ``valid_tokens``,
    ``forward_block_outputs`` and ``forward_tokens``; ``forward_features`` follows from them.
    """

    modality: ClassVar[str] = "audio"
    has_tokens: ClassVar[bool] = True
    sample_rate: int
    mask_token: nn.Parameter

    @property
    def min_samples(self) -> int:
        """The narrowest batch (samples) computed without a special case; a narrower one is
        fine in PyTorch, but an exported graph wants at least this many (pad with NaN)."""
        return 1

    def _make_mask_token(self, dim: int) -> None:
        # Frozen until a masking method calls ``train_mask_token``: an unused trainable
        # parameter would make DDP fail for every method that never masks (as for the ViT).
        self.mask_token = nn.Parameter(torch.empty(dim).uniform_(), requires_grad=False)

    def train_mask_token(self) -> None:
        """Make ``mask_token`` trainable (for methods that pass ``token_mask``)."""
        self.mask_token.requires_grad_(True)

    def check_waveform(self, x: torch.Tensor) -> None:
        """One clear error for anything but a float ``[B, T]`` waveform batch."""
        if x.ndim != 2 or not x.is_floating_point():
            raise ValueError(
                f"{type(self).__name__} takes NaN-padded waveforms [B, T] (float) at "
                f"{self.sample_rate} Hz, got {x.dtype} {list(x.shape)}"
            )

    def replace_masked(self, tokens: torch.Tensor, token_mask: torch.Tensor | None) -> torch.Tensor:
        """``tokens [B, N, D]`` with ``mask_token`` where ``token_mask`` (bool ``[B, N]``)."""
        if token_mask is None:
            return tokens
        if token_mask.shape != tokens.shape[:2] or token_mask.dtype != torch.bool:
            raise ValueError(
                f"token_mask must be a bool tensor [B, N] = {list(tokens.shape[:2])}, got "
                f"{token_mask.dtype} {list(token_mask.shape)}"
            )
        return torch.where(token_mask[..., None], self.mask_token.to(tokens.dtype), tokens)

    def valid_tokens(self, x: torch.Tensor) -> torch.Tensor:
        """bool ``[B, N]``: True at tokens computed from real samples."""
        raise NotImplementedError

    def forward_block_outputs(
        self, x: torch.Tensor, token_mask: torch.Tensor | None = None
    ) -> list[torch.Tensor]:
        """Each transformer block's output ``[B, N, D]``, in order (padding tokens zeroed)."""
        raise NotImplementedError

    def forward_tokens(
        self, x: torch.Tensor, token_mask: torch.Tensor | None = None
    ) -> torch.Tensor:
        """Final token features ``[B, N, D]`` (padding tokens zeroed).

        ``token_mask`` (bool ``[B, N]``): True where the token's input is replaced by
        ``mask_token`` before the transformer.
        """
        raise NotImplementedError

    def forward_features(self, x: torch.Tensor) -> torch.Tensor:
        """Mean of the real tokens' final features ``[B, D]``."""
        return mean_of_valid(self.forward_tokens(x), self.valid_tokens(x))


def mean_of_valid(tokens: torch.Tensor, valid: torch.Tensor) -> torch.Tensor:
    """Average ``tokens [B, N, D]`` over the positions where ``valid [B, N]`` is True."""
    weight = valid.to(tokens.dtype)[..., None]
    return (tokens * weight).sum(1) / weight.sum(1).clamp(min=1.0)


def zero_invalid(tokens: torch.Tensor, valid: torch.Tensor) -> torch.Tensor:
    """``tokens [B, N, D]`` with the positions where ``valid`` is False set to 0."""
    return tokens.masked_fill(~valid[..., None], 0.0)

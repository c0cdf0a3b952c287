"""wav2vec 2.0-style encoder: conv feature encoder on the raw waveform, then a transformer.

waveform -> :class:`ConvFeatureEncoder` (frames every ~20 ms) -> LayerNorm -> linear
projection to ``dim`` -> dropout -> mask token where ``token_mask`` -> + convolutional
relative position embedding -> (LayerNorm, post-LN) -> transformer blocks -> (LayerNorm,
pre-LN). Padding frames are zeroed before the position convolution and hidden as attention
keys, so no real frame ever sees them.

wav2vec 2.0 (the method) uses the split entry points: ``local_features`` (the conv output
before LayerNorm and projection: what the feature penalty reads), ``normalize_local`` (the
LayerNorm: what the quantizer reads) and ``contextualize`` (the rest, with masking).
"""

from __future__ import annotations

from dataclasses import dataclass

import torch
from torch import nn

from selfsup.backbones.audio_base import AudioBackbone, zero_invalid
from selfsup.backbones.audio_conv_encoder import ConvFeatureEncoder
from selfsup.backbones.audio_transformer import AudioTransformer
from selfsup.backbones.registry import register_backbone


class ConvPositionEmbedding(nn.Module):
    """Grouped 1-D conv over time, GELU: ``[B, N, D] -> [B, N, D]`` (added to the input).

    Same-length output (an even kernel drops its last frame); weight norm over the kernel
    axis as in the paper when ``weight_norm``.
    """

    def __init__(self, dim: int, kernel: int, groups: int, weight_norm: bool) -> None:
        super().__init__()
        if kernel < 1 or dim % groups:
            raise ValueError(f"need pos_conv_kernel >= 1 and dim {dim} divisible by {groups}")
        conv = nn.Conv1d(dim, dim, kernel, padding=kernel // 2, groups=groups)
        nn.init.normal_(conv.weight, mean=0.0, std=(4.0 / (kernel * dim)) ** 0.5)
        if conv.bias is not None:
            nn.init.zeros_(conv.bias)
        if weight_norm:
            conv = nn.utils.parametrizations.weight_norm(conv, name="weight", dim=2)
        self.conv = conv
        self.trim = 1 if kernel % 2 == 0 else 0

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        y = self.conv(x.transpose(1, 2))
        if self.trim:
            y = y[..., : -self.trim]
        return nn.functional.gelu(y).transpose(1, 2)


@dataclass(frozen=True)
class Wav2Vec2Size:
    """One named size: conv width, model width, blocks, heads, FFN width, pos-conv kernel and
    groups, and whether blocks are pre-LN."""

    conv_dim: int
    dim: int
    depth: int
    heads: int
    ffn_dim: int
    pos_conv_kernel: int
    pos_conv_groups: int
    norm_first: bool


SIZES = {
    # CPU-sized: a conv width of 128 halves the step time of 256 (the conv layers dominate);
    # 1 s clips give 50 frames, so a 32-frame (0.64 s) position kernel.
    "tiny": Wav2Vec2Size(128, 192, 4, 4, 768, 32, 16, True),
    # The paper's Base: post-LN blocks.
    "base": Wav2Vec2Size(512, 768, 12, 12, 3072, 128, 16, False),
}


class Wav2Vec2Backbone(AudioBackbone):
    """NaN-padded waveform ``[B, T]`` -> one token per ~20 ms frame (see module doc)."""

    def __init__(
        self,
        size: Wav2Vec2Size,
        sample_rate: int,
        frame_ms: float = 20.0,
        dropout: float = 0.1,
        pos_conv_weight_norm: bool = True,
        normalize_waveform: bool = False,
        conv_bias: bool = False,
    ) -> None:
        super().__init__()
        self.sample_rate = int(sample_rate)
        self.feature_dim = size.dim
        self.depth = size.depth
        self.feature_encoder = ConvFeatureEncoder(
            sample_rate, size.conv_dim, frame_ms, conv_bias, normalize_waveform
        )
        self.local_dim = size.conv_dim
        self.feature_norm = nn.LayerNorm(size.conv_dim)
        self.feature_projection = nn.Linear(size.conv_dim, size.dim)
        self.input_dropout = nn.Dropout(dropout)
        self._make_mask_token(size.dim)
        self.pos_conv = ConvPositionEmbedding(
            size.dim, size.pos_conv_kernel, size.pos_conv_groups, pos_conv_weight_norm
        )
        # Post-LN normalises the block input once here; pre-LN normalises after the last block.
        self.input_norm = nn.Identity() if size.norm_first else nn.LayerNorm(size.dim)
        self.block_dropout = nn.Dropout(dropout)
        self.transformer = AudioTransformer(
            size.dim, size.depth, size.heads, size.ffn_dim, dropout, size.norm_first
        )

    @property
    def hop_length(self) -> int:
        """Samples between consecutive frames (320 at 16 kHz, 160 at 8 kHz)."""
        return self.feature_encoder.hop

    @property
    def min_samples(self) -> int:
        """The conv encoder's receptive field (400 samples at 8 and 16 kHz)."""
        return self.feature_encoder.receptive_field

    def valid_tokens(self, x: torch.Tensor) -> torch.Tensor:
        self.check_waveform(x)
        return self.feature_encoder.valid_frames(x)

    def local_features(self, x: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
        """The conv encoder's frames ``[B, N, conv_dim]`` (padding zeroed) and real frames."""
        self.check_waveform(x)
        return self.feature_encoder(x)

    def normalize_local(self, feats: torch.Tensor) -> torch.Tensor:
        """The LayerNorm ``contextualize`` starts with (wav2vec 2.0 quantizes its output)."""
        out: torch.Tensor = self.feature_norm(feats)
        return out

    def _block_outputs(
        self, feats: torch.Tensor, valid: torch.Tensor, token_mask: torch.Tensor | None
    ) -> list[torch.Tensor]:
        h = self.input_dropout(self.feature_projection(self.feature_norm(feats)))
        h = zero_invalid(self.replace_masked(h, token_mask), valid)
        h = self.block_dropout(self.input_norm(h + self.pos_conv(h)))
        return [zero_invalid(out, valid) for out in self.transformer(h, valid)]

    def contextualize(
        self, feats: torch.Tensor, valid: torch.Tensor, token_mask: torch.Tensor | None = None
    ) -> torch.Tensor:
        """Final tokens ``[B, N, dim]`` from ``local_features``' output (padding zeroed).

        ``token_mask`` (bool ``[B, N]``): frames whose projected features are replaced by
        ``mask_token`` before the position embedding and the blocks.
        """
        last = self._block_outputs(feats, valid, token_mask)[-1]
        return zero_invalid(self.transformer.finish(last), valid)

    def forward_block_outputs(
        self, x: torch.Tensor, token_mask: torch.Tensor | None = None
    ) -> list[torch.Tensor]:
        return self._block_outputs(*self.local_features(x), token_mask)

    def forward_tokens(
        self, x: torch.Tensor, token_mask: torch.Tensor | None = None
    ) -> torch.Tensor:
        return self.contextualize(*self.local_features(x), token_mask)


def _register(name: str, size_name: str) -> None:
    size = SIZES[size_name]

    def factory(
        sample_rate: int = 16000,
        frame_ms: float = 20.0,
        dropout: float = 0.1,
        conv_dim: int | None = None,
        dim: int | None = None,
        depth: int | None = None,
        heads: int | None = None,
        ffn_dim: int | None = None,
        pos_conv_kernel: int | None = None,
        pos_conv_groups: int | None = None,
        pos_conv_weight_norm: bool = True,
        norm_first: bool | None = None,
        normalize_waveform: bool = False,
        conv_bias: bool = False,
    ) -> Wav2Vec2Backbone:
        chosen = Wav2Vec2Size(
            conv_dim=conv_dim or size.conv_dim,
            dim=dim or size.dim,
            depth=depth or size.depth,
            heads=heads or size.heads,
            ffn_dim=ffn_dim or size.ffn_dim,
            pos_conv_kernel=pos_conv_kernel or size.pos_conv_kernel,
            pos_conv_groups=pos_conv_groups or size.pos_conv_groups,
            norm_first=size.norm_first if norm_first is None else norm_first,
        )
        return Wav2Vec2Backbone(
            chosen,
            sample_rate,
            frame_ms=frame_ms,
            dropout=dropout,
            pos_conv_weight_norm=pos_conv_weight_norm,
            normalize_waveform=normalize_waveform,
            conv_bias=conv_bias,
        )

    s = size
    factory.__name__ = factory.__qualname__ = name
    factory.__doc__ = f"""wav2vec 2.0-style audio encoder, {size_name}: conv {s.conv_dim},
    D={s.dim}, {s.depth} {"pre" if s.norm_first else "post"}-LN blocks, {s.heads} heads,
    FFN {s.ffn_dim}, position conv kernel {s.pos_conv_kernel} / {s.pos_conv_groups} groups.

    Args:
        sample_rate: the waveform's rate; conv strides adapt so frames stay ~``frame_ms``.
        frame_ms: target frame hop (20 ms as in the paper).
        dropout: after the projection, in the blocks and before them.
        conv_dim / dim / depth / heads / ffn_dim / pos_conv_kernel / pos_conv_groups /
            norm_first: override the named size.
        pos_conv_weight_norm: weight-normalise the position conv (paper: yes).
        normalize_waveform: standardise each clip over its real samples first.
        conv_bias: biases in the feature encoder's convs (paper Base: no).
    """
    # Tags the audio methods match: one token per ``hop_length`` samples (HuBERT's frame
    # targets), and the split local_features / contextualize entry points (wav2vec 2.0).
    register_backbone(name, frames=True, local_features=True)(factory)


_register("wav2vec2_tiny", "tiny")
_register("wav2vec2_base", "base")

"""The SUPERB probe: every layer pooled over real frames only, a softmax-weighted sum of them,
and a head that learns which layer carries the label."""

from __future__ import annotations

import math

import pytest
import torch
from torch import nn

from selfsup.backbones import create_backbone
from selfsup.eval.features import Features
from selfsup.eval.superb import WeightedLayers, layer_names, pooled_layers, superb_probe
from selfsup.nn.audio_padding import clip_lengths, pad_clips, zero_padding

HOP = 4


class Scale(nn.Module):
    def __init__(self, factor: float) -> None:
        super().__init__()
        self.factor = factor

    def forward(self, h: torch.Tensor) -> torch.Tensor:
        return h * self.factor


class Crafted(nn.Module):
    """Test encoder: one token per whole chunk of HOP samples, [chunk mean, chunk max]; block
    k multiplies its input by k + 1, so every layer is known by hand."""

    feature_dim = 2

    def __init__(self, depth: int = 2) -> None:
        super().__init__()
        self.transformer = nn.Module()
        self.transformer.blocks = nn.ModuleList(Scale(k + 2.0) for k in range(depth))

    def valid_tokens(self, x: torch.Tensor) -> torch.Tensor:
        n = x.shape[1] // HOP
        return torch.arange(n)[None, :] < (clip_lengths(x) // HOP)[:, None]

    def forward_block_outputs(self, x: torch.Tensor) -> list[torch.Tensor]:
        chunks = zero_padding(x)[0][:, : x.shape[1] // HOP * HOP].reshape(len(x), -1, HOP)
        h = torch.stack([chunks.mean(-1), chunks.amax(-1)], dim=-1)
        outs = []
        for block in self.transformer.blocks:
            h = block(h)
            outs.append(h)
        return outs


def test_layers_are_pooled_over_real_chunks_and_include_the_blocks_input() -> None:
    enc = Crafted(depth=2)
    clips = [torch.arange(12.0), torch.arange(9.0) * -1]  # 3 and 2 whole chunks
    out = pooled_layers(enc)(pad_clips(clips)).reshape(2, 3, 2)
    for row, clip in enumerate(clips):
        whole = clip[: len(clip) // HOP * HOP].reshape(-1, HOP)
        tokens = torch.stack([whole.mean(-1), whole.amax(-1)], dim=-1)
        expected = tokens.mean(0)
        torch.testing.assert_close(out[row, 0], expected)  # the input to the first block
        torch.testing.assert_close(out[row, 1], 2 * expected)
        torch.testing.assert_close(out[row, 2], 6 * expected)
    assert layer_names(enc, 3) == ["input", "block1", "block2"]


def test_appending_padding_does_not_change_pooled_layers() -> None:
    enc = Crafted()
    clips = [torch.randn(10), torch.randn(17)]
    tight = pooled_layers(enc)(pad_clips(clips))
    loose = pooled_layers(enc)(pad_clips(clips, 40))
    torch.testing.assert_close(tight, loose)


def test_a_spectrogram_vit_pools_every_layer_and_ignores_padding() -> None:
    torch.manual_seed(0)
    vit = create_backbone(
        "audio_vit_tiny", sample_rate=8000, dim=32, depth=2, heads=2, n_mels=32, patch_size=8
    ).eval()
    clips = [torch.randn(1200), torch.randn(700)]
    with torch.no_grad():
        tight = pooled_layers(vit)(pad_clips(clips))
        loose = pooled_layers(vit)(pad_clips(clips, 2400))
        alone = pooled_layers(vit)(pad_clips(clips[1:]))
    assert tight.shape == (2, 3 * 32)  # input + 2 blocks
    torch.testing.assert_close(tight, loose, atol=1e-5, rtol=1e-4)
    torch.testing.assert_close(tight[1:], alone, atol=1e-5, rtol=1e-4)


def test_weighted_sum_equals_a_hand_computed_weighted_mean() -> None:
    mix = WeightedLayers(3)
    with torch.no_grad():
        mix.logits.copy_(torch.tensor([0.0, math.log(3.0), math.log(4.0)]))  # 1 : 3 : 4
    layers = torch.randn(5, 3, 7)
    by_hand = (1 * layers[:, 0] + 3 * layers[:, 1] + 4 * layers[:, 2]) / 8
    torch.testing.assert_close(mix(layers), by_hand)
    torch.testing.assert_close(mix.weights().sum(), torch.tensor(1.0))


def test_the_probe_weights_the_layer_that_carries_the_label() -> None:
    gen = torch.Generator().manual_seed(0)

    def split(n: int) -> Features:
        labels = torch.arange(n) % 4
        layers = torch.randn(n, 3, 8, generator=gen)
        layers[:, 1, :4] += 3.0 * nn.functional.one_hot(labels, 4)  # only layer 1 knows
        return Features(layers.flatten(1), labels)

    r = superb_probe(split(400), split(200), num_layers=3)
    assert r.test_accuracy > 0.9
    assert max(range(3), key=lambda i: r.layer_weights[i]) == 1
    assert sum(r.layer_weights) == pytest.approx(1.0)


def test_features_that_do_not_split_into_layers_are_refused() -> None:
    f = Features(torch.randn(10, 7), torch.arange(10) % 2)
    with pytest.raises(ValueError, match="do not split into 3 layers"):
        superb_probe(f, f, num_layers=3)

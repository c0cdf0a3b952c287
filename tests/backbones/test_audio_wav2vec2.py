"""wav2vec 2.0-style backbone: exact padding, frame arithmetic, masking and its split API."""

from __future__ import annotations

import math

import pytest
import torch

from selfsup.backbones import create_backbone
from selfsup.backbones.audio_conv_encoder import (
    conv_layout,
    conv_output_lengths,
    receptive_field,
)
from selfsup.backbones.audio_wav2vec2 import Wav2Vec2Backbone
from selfsup.backbones.registry import BACKBONES
from selfsup.nn.audio_padding import pad_clips
from selfsup.registry import ConfigError

SMALL = {"conv_dim": 32, "dim": 32, "depth": 2, "heads": 2, "ffn_dim": 64, "pos_conv_kernel": 8}


def small(sample_rate: int = 8000, **kwargs: object) -> Wav2Vec2Backbone:
    torch.manual_seed(0)
    model = create_backbone("wav2vec2_tiny", sample_rate=sample_rate, **{**SMALL, **kwargs})
    assert isinstance(model, Wav2Vec2Backbone)
    return model.eval()


def test_paper_layout_at_16k_and_20_ms_frames_at_other_rates() -> None:
    assert conv_layout(16000) == ((10, 3, 3, 3, 3, 2, 2), (5, 2, 2, 2, 2, 2, 2))
    assert receptive_field(*conv_layout(16000)) == 400
    assert conv_layout(8000)[1] == (5, 2, 2, 2, 2, 2, 1)
    for rate in (8000, 16000, 22050, 24000, 44100, 48000):
        hop = math.prod(conv_layout(rate)[1])
        assert abs(hop / rate - 0.020) < 0.0015, rate


@pytest.mark.parametrize("rate", [8000, 16000])
def test_one_second_gives_about_fifty_frames(rate: int) -> None:
    model = small(rate)
    assert model.hop_length / rate == pytest.approx(0.020)
    x = torch.zeros(1, rate)
    assert 47 <= int(model.valid_tokens(x).sum()) <= 50
    assert model.forward_tokens(x).shape[1] == model.valid_tokens(x).shape[1]


def test_valid_tokens_follow_the_conv_length_formula() -> None:
    model = small()
    kernels, strides = model.feature_encoder.kernels, model.feature_encoder.strides
    lengths = [8000, 5000, 1234, 401, 400, 399, 37]
    x = pad_clips([torch.randn(n) for n in lengths])
    counts = model.valid_tokens(x).sum(dim=1).tolist()
    expected = []
    for n in lengths:
        frames = max(n, receptive_field(kernels, strides))  # short clips read as zero-padded
        for k, s in zip(kernels, strides, strict=True):
            frames = (frames - k) // s + 1
        expected.append(frames)
    assert counts == expected
    assert counts[-1] == 1  # shorter than one receptive field: still one frame
    alone = model.local_features(torch.randn(1, 1234))[0]
    assert alone.shape[1] == expected[2]  # the batch-free output length agrees
    lengths_t = torch.tensor([5000])
    assert conv_output_lengths(lengths_t, kernels, strides).item() == expected[1]


def test_padding_never_changes_a_clips_features() -> None:
    model = small()
    torch.manual_seed(1)
    short, long = torch.randn(3000), torch.randn(8000)
    batch = pad_clips([short, long])
    n = int(model.valid_tokens(short[None]).sum())
    with torch.no_grad():
        alone = model.forward_features(short[None])[0]
        batched = model.forward_features(batch)[0]
        tokens_alone = model.forward_tokens(short[None])[0]
        tokens = model.forward_tokens(batch)[0]
        blocks_alone = model.forward_block_outputs(short[None])
        blocks = model.forward_block_outputs(batch)
    torch.testing.assert_close(batched, alone, atol=1e-5, rtol=0)
    torch.testing.assert_close(tokens[:n], tokens_alone[:n], atol=1e-5, rtol=0)
    assert tokens[n:].eq(0).all()
    for a, b in zip(blocks_alone, blocks, strict=True):
        torch.testing.assert_close(b[0, :n], a[0, :n], atol=1e-5, rtol=0)


def test_post_ln_and_weight_norm_off_keep_padding_exact() -> None:
    model = small(norm_first=False, pos_conv_weight_norm=False, normalize_waveform=True)
    short, long = torch.randn(2100), torch.randn(6000)
    with torch.no_grad():
        alone = model.forward_features(short[None])[0]
        batched = model.forward_features(pad_clips([short, long]))[0]
    torch.testing.assert_close(batched, alone, atol=1e-5, rtol=0)


def test_split_api_composes_to_forward_tokens() -> None:
    model = small()
    x = pad_clips([torch.randn(4000), torch.randn(2500)])
    with torch.no_grad():
        feats, valid = model.local_features(x)
        assert feats.shape == (2, valid.shape[1], model.local_dim)
        assert feats[~valid].eq(0).all()
        torch.testing.assert_close(model.contextualize(feats, valid), model.forward_tokens(x))
        assert model.normalize_local(feats).shape == feats.shape


def test_token_mask_replaces_the_masked_frames_inputs() -> None:
    model = small()
    model.train_mask_token()
    a, b = torch.randn(2, 4000), torch.randn(2, 4000)
    valid = model.valid_tokens(a)
    everything = torch.ones_like(valid)
    with torch.no_grad():
        # Every input masked: the waveform no longer matters.
        torch.testing.assert_close(
            model.forward_tokens(a, everything), model.forward_tokens(b, everything)
        )
        some = torch.zeros_like(valid)
        some[:, 5:15] = True
        assert not torch.allclose(model.forward_tokens(a, some), model.forward_tokens(a))
    with pytest.raises(ValueError, match="token_mask"):
        model.forward_tokens(a, torch.ones(2, 3, dtype=torch.bool))


def test_mask_token_trains_only_when_asked() -> None:
    model = small().train()
    assert not model.mask_token.requires_grad
    model.train_mask_token()
    x = torch.randn(2, 4000)
    mask = torch.zeros_like(model.valid_tokens(x))
    mask[:, ::3] = True
    model.forward_tokens(x, mask).sum().backward()
    assert model.mask_token.grad is not None and model.mask_token.grad.abs().sum() > 0


def test_block_outputs_one_per_block_and_last_gives_the_tokens() -> None:
    model = small(depth=3)
    x = torch.randn(2, 3000)
    with torch.no_grad():
        blocks = model.forward_block_outputs(x)
        assert len(blocks) == model.depth == 3
        assert all(b.shape == (2, blocks[0].shape[1], model.feature_dim) for b in blocks)
        torch.testing.assert_close(model.transformer.finish(blocks[-1]), model.forward_tokens(x))


def test_bad_input_and_settings_raise_one_clear_error() -> None:
    model = small()
    with pytest.raises(ValueError, match=r"waveforms \[B, T\]"):
        model.forward_features(torch.randn(2, 1, 4000))
    with pytest.raises(ValueError, match="sample_rate"):
        small(sample_rate=100)
    with pytest.raises(ConfigError):
        BACKBONES.validate("wav2vec2_tiny", {"conv_dim": "wide"}, where="backbone")
    BACKBONES.validate("wav2vec2_base", {"sample_rate": 8000, "depth": 2}, where="backbone")


def test_base_has_the_papers_size() -> None:
    params = BACKBONES.params("wav2vec2_base")
    assert set(params) >= {"sample_rate", "dim", "depth", "pos_conv_kernel"}
    model = create_backbone("wav2vec2_base")
    assert model.feature_dim == 768 and model.feature_encoder.convs[0].out_channels == 512
    assert len(model.transformer.blocks) == 12 and model.pos_conv.conv.kernel_size == (128,)
    # The paper reports 95M parameters for Base.
    assert 90e6 < sum(p.numel() for p in model.parameters()) < 100e6

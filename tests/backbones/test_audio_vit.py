"""Spectrogram transformer: padding, patch grid, Audio-MAE entry points, masks, sizes."""

from __future__ import annotations

import pytest
import torch

from selfsup.backbones import create_backbone
from selfsup.backbones.audio_vit import AudioViTBackbone
from selfsup.backbones.registry import BACKBONES
from selfsup.nn.audio_padding import pad_clips
from selfsup.nn.masking import patchify, unpatchify
from selfsup.registry import ConfigError

SMALL = {"dim": 32, "depth": 2, "heads": 2, "n_mels": 32, "patch_size": 8}


def small(**kwargs: object) -> AudioViTBackbone:
    torch.manual_seed(0)
    model = create_backbone("audio_vit_tiny", sample_rate=8000, **{**SMALL, **kwargs})
    assert isinstance(model, AudioViTBackbone)
    return model.eval()


def test_grid_and_valid_patches_follow_frames() -> None:
    model = small()  # 10 ms frames at 8 kHz: hop 80 samples; 8-frame patches
    x = pad_clips([torch.randn(8000), torch.randn(700), torch.randn(30)])
    n_f, n_t = model.patch_grid_for(x)
    assert (n_f, n_t) == (4, 13)  # 101 frames -> 13 columns of 8
    valid = model.valid_tokens(x).view(3, n_f, n_t)
    # 700 samples -> 9 frames -> 2 columns; 30 samples -> 1 frame -> still 1 column.
    assert valid.sum(dim=2)[:, 0].tolist() == [13, 2, 1]
    assert (valid == valid[:, :1]).all()  # every mel row of a column alike
    assert model.forward_tokens(x).shape == (3, n_f * n_t, model.feature_dim)


@pytest.mark.parametrize("stats", [{}, {"norm_mean": -30.0, "norm_std": 20.0}])
def test_padding_never_changes_a_clips_features(stats: dict[str, float]) -> None:
    model = small(**stats)
    torch.manual_seed(1)
    short, long = torch.randn(2345), torch.randn(8000)
    n = int(model.valid_tokens(short[None]).sum())
    with torch.no_grad():
        alone = model.forward_features(short[None])[0]
        batch = pad_clips([short, long])
        batched = model.forward_features(batch)[0]
        last_alone = model.forward_block_outputs(short[None])[-1][0]
        last = model.forward_block_outputs(batch)[-1][0]
    torch.testing.assert_close(batched, alone, atol=1e-5, rtol=0)
    keep, keep_alone = model.valid_tokens(batch)[0], model.valid_tokens(short[None])[0]
    assert int(keep.sum()) == n
    torch.testing.assert_close(last[keep], last_alone[keep_alone], atol=1e-5, rtol=0)


def test_log_mel_image_is_normalised_and_padding_is_zero() -> None:
    model = small()
    x = pad_clips([torch.randn(4000), torch.randn(1000)])
    image = model.log_mel(x)
    assert image.shape == (2, 1, 32, 8 * model.patch_grid_for(x)[1])
    frames = 1000 // 80 + 1
    real = image[1, 0, :, :frames]
    assert real.mean().abs() < 1e-4 and (real.std(unbiased=False) - 1).abs() < 1e-3
    assert image[1, 0, :, frames:].eq(0).all()


def test_target_patches_are_the_log_mel_cut_in_token_order() -> None:
    model = small()
    x = torch.randn(2, 3000)
    targets = model.target_patches(x)
    n_f, n_t = model.patch_grid_for(x)
    assert targets.shape == (2, n_f * n_t, 8 * 8)
    image = model.log_mel(x)
    torch.testing.assert_close(unpatchify(targets, 8, n_f, n_t), image)
    torch.testing.assert_close(targets, patchify(image, 8))


def test_forward_visible_with_every_patch_matches_forward_tokens() -> None:
    model = small()
    x = pad_clips([torch.randn(4000), torch.randn(1500)])
    n = model.valid_tokens(x).shape[1]
    everything = torch.arange(n).expand(2, n).contiguous()
    with torch.no_grad():
        torch.testing.assert_close(model.forward_visible(x, everything), model.forward_tokens(x))
        keep = torch.stack([torch.randperm(n)[:5] for _ in range(2)])
        assert model.forward_visible(x, keep).shape == (2, 5, model.feature_dim)
    with pytest.raises(ValueError, match="keep_idx"):
        model.forward_visible(x, everything + 1)


def test_token_mask_replaces_patch_inputs() -> None:
    model = small()
    model.train_mask_token()
    a, b = torch.randn(2, 4000), torch.randn(2, 4000)
    everything = torch.ones_like(model.valid_tokens(a))
    with torch.no_grad():
        torch.testing.assert_close(
            model.forward_tokens(a, everything), model.forward_tokens(b, everything)
        )
        some = torch.zeros_like(everything)
        some[:, :3] = True
        assert not torch.allclose(model.forward_tokens(a, some), model.forward_tokens(a))


def test_block_outputs_one_per_block() -> None:
    model = small(depth=3)
    x = torch.randn(2, 2000)
    with torch.no_grad():
        blocks = model.forward_block_outputs(x)
        assert len(blocks) == model.depth == 3
        torch.testing.assert_close(model.transformer.finish(blocks[-1]), model.forward_tokens(x))


def test_any_clip_length_works_with_the_same_weights() -> None:
    model = small()
    with torch.no_grad():
        for samples in (1, 79, 80, 4000, 24000):
            feats = model.forward_features(torch.randn(1, samples))
            assert feats.shape == (1, model.feature_dim) and torch.isfinite(feats).all()


def test_settings_are_checked() -> None:
    with pytest.raises(ValueError, match="multiple of patch_size"):
        small(n_mels=36)
    with pytest.raises(ValueError, match="norm_mean"):
        small(norm_mean=0.0)
    with pytest.raises(ConfigError):
        BACKBONES.validate("audio_vit_tiny", {"mel_scale": "bark"}, where="backbone")
    assert create_backbone("audio_vit_tiny", sample_rate=8000).spectrogram.n_mels == 64
    base = create_backbone("audio_vit_base")
    assert base.feature_dim == 768 and base.spectrogram.n_mels == 128
    assert 85e6 < sum(p.numel() for p in base.parameters()) < 90e6

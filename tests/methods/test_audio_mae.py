"""Audio-MAE: padding is never visible nor a target, any clip duration decodes, masks follow
the ratio over real patches."""

from __future__ import annotations

import pytest
import torch

from selfsup.backbones import create_backbone
from selfsup.methods import create_method
from selfsup.methods.audio.audio_mae import AudioMAE
from selfsup.nn.audio_padding import pad_clips
from tiny_methods import TINY_AUDIO_VIT

HOP = 80  # 10 ms at 8 kHz


def tiny_mae() -> AudioMAE:
    torch.manual_seed(0)
    backbone = create_backbone("audio_vit_tiny", **TINY_AUDIO_VIT)
    method = create_method(
        "audio_mae", backbone=backbone, decoder_dim=32, decoder_depth=1, decoder_heads=2
    )
    assert isinstance(method, AudioMAE)
    return method.eval()


def clips(lengths: list[int], total: int | None = None) -> torch.Tensor:
    gen = torch.Generator().manual_seed(1)
    return pad_clips([0.1 * torch.randn(n, generator=gen) for n in lengths], total)


def grid_noise(method: AudioMAE, x: torch.Tensor, n_t_long: int | None = None) -> torch.Tensor:
    """Noise for ``x``'s grid, optionally widened to ``n_t_long`` columns (new ones random)."""
    n_f, n_t = method.vit.patch_grid_for(x)
    noise = torch.rand(x.shape[0], n_f, n_t, generator=torch.Generator().manual_seed(2))
    if n_t_long is not None:
        extra = torch.rand(x.shape[0], n_f, n_t_long - n_t)
        noise = torch.cat([noise, extra], dim=2)
    return noise.flatten(1)


def test_padding_never_visible_and_never_a_target() -> None:
    method = tiny_mae()
    x = clips([2400, 1200, 800])
    out = method.reconstruct(x, grid_noise(method, x))
    kept_real = torch.gather(out.valid, 1, out.keep_idx)
    # Each clip keeps floor(20%) of its real patches, all of them real; the rest is fill.
    for b in range(3):
        real = int(out.valid[b].sum())
        assert int(kept_real[b].sum()) == max(1, int(real * 0.2))
    assert not (out.mask & ~out.valid).any()
    visible = torch.zeros_like(out.valid).scatter_(1, out.keep_idx, True) & out.valid
    assert torch.equal(out.mask, out.valid & ~visible)


def test_padded_content_and_appended_padding_do_not_change_the_loss() -> None:
    method = tiny_mae()
    x = clips([2400, 1200, 800], total=2400)
    noise = grid_noise(method, x)
    with torch.no_grad():
        base = method.reconstruct(x, noise).sample_loss
        other = x.clone()
        other[1, 1200:] = float("nan")  # already padding: same input
        assert torch.allclose(method.reconstruct(other, noise).sample_loss, base)
        # A whole number of patches of padding appended: same real patches, same positions.
        longer = torch.cat([x, torch.full((3, 4 * 4 * HOP), float("nan"))], dim=1)
        n_t_long = method.vit.patch_grid_for(longer)[1]
        wide = grid_noise(method, x, n_t_long)
        out = method.reconstruct(longer, wide)
    assert torch.allclose(out.sample_loss, base, atol=1e-5)
    assert int(out.valid.sum()) == int(method.vit.valid_tokens(x).sum())


def test_masked_real_content_does_change_the_loss() -> None:
    method = tiny_mae()
    x = clips([2400, 1200])
    noise = grid_noise(method, x)
    with torch.no_grad():
        base = method.reconstruct(x, noise).sample_loss
        changed = x.clone()
        changed[1, :600] = 0.5 * torch.randn(600)
        assert not torch.allclose(method.reconstruct(changed, noise).sample_loss, base)


def test_decoder_handles_batches_of_different_durations() -> None:
    method = tiny_mae().train()
    gen = torch.Generator().manual_seed(0)
    grids = []
    for lengths in ([4000, 3000], [1200, 900, 700]):
        out = method.training_step({"input": clips(lengths)}, generator=gen)
        assert torch.isfinite(out["loss"]) and out["sample_loss"].shape == (len(lengths),)
        out["loss"].backward()
        grids.append(method.vit.patch_grid_for(clips(lengths)))
    assert grids[0][1] != grids[1][1]
    assert method.decoder.mask_token.grad is not None


def test_rejects_a_non_spectrogram_backbone() -> None:
    backbone = create_backbone("vit_tiny", img_size=16, patch_size=4, depth=2)
    with pytest.raises(ValueError, match="audio_vit"):
        create_method("audio_mae", backbone=backbone)


def test_mask_ratio_is_schedulable() -> None:
    assert AudioMAE.schedulable["mask_ratio"] == (0.0, 1.0) and AudioMAE.reports_sample_loss

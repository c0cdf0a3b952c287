"""Audio-MAE reconstruction panels: the masked panel hides exactly the masked patches, the
reconstruction is the decoder's output there and the input elsewhere; the PNG has one row
per clip."""

from __future__ import annotations

from pathlib import Path

import pytest
import torch
from PIL import Image

from selfsup.backbones import create_backbone
from selfsup.methods.audio.audio_mae import AudioMAE
from selfsup.nn.audio_padding import pad_clips
from selfsup.nn.masking import patchify
from selfsup.visualize.audio_reconstruction import (
    audio_reconstruction_panels,
    save_audio_reconstruction_grid,
)

P = 8  # patch side: 32 mels -> 4 mel rows of patches


def audio_mae(norm_pix: bool) -> AudioMAE:
    torch.manual_seed(0)
    vit = create_backbone(
        "audio_vit_tiny", sample_rate=8000, n_mels=32, patch_size=P, dim=32, depth=1, heads=2
    )
    return AudioMAE(vit, mask_ratio=0.8, decoder_dim=16, decoder_depth=1, decoder_heads=2,
                    norm_pix_loss=norm_pix)  # fmt: skip


def clips() -> list[torch.Tensor]:
    gen = torch.Generator().manual_seed(1)
    return [torch.randn(n, generator=gen) * 0.1 for n in (4000, 2400, 1200)]  # 0.5 / 0.3 / 0.15 s


@pytest.mark.parametrize("norm_pix", [True, False])
def test_reconstruction_is_the_decoder_output_under_the_mask(norm_pix: bool) -> None:
    method, waves = audio_mae(norm_pix), clips()
    drawn = audio_reconstruction_panels(method, waves, torch.Generator().manual_seed(0))
    original, masked, recon = drawn.panels.unbind(1)
    # The same masks and prediction, computed directly from the method.
    method.eval()
    x = pad_clips(waves)
    with torch.no_grad():
        out = method.reconstruct(x, method.noise(x, torch.Generator().manual_seed(0)))
    expected_pred = out.pred
    if norm_pix:
        mean = out.patches.mean(-1, keepdim=True)
        std = (out.patches.var(-1, keepdim=True, unbiased=False) + 1e-6).sqrt()
        expected_pred = out.pred * std + mean
    assert torch.equal(drawn.mask, out.mask)
    torch.testing.assert_close(patchify(original[:, None], P), out.patches)
    hidden = patchify(masked[:, None], P).isnan()  # [B, N, P * P]
    assert torch.equal(hidden.all(-1), out.mask) and torch.equal(hidden.any(-1), out.mask)
    got = patchify(recon[:, None], P)
    torch.testing.assert_close(got[out.mask], expected_pred[out.mask])
    torch.testing.assert_close(got[~out.mask], out.patches[~out.mask])
    assert not torch.allclose(got[out.mask], out.patches[out.mask], atol=1e-2)
    # Each clip keeps floor(20%) of its real patches (at least one); padding is never masked.
    real = out.valid.sum(1)
    kept = torch.floor(real * 0.2).long().clamp(min=1)
    assert not (out.mask & ~out.valid).any() and torch.equal(out.mask.sum(1), real - kept)
    assert drawn.frames.tolist() == [51, 31, 16]  # 10 ms hop at 8 kHz: L // 80 + 1


def test_png_has_one_row_per_clip_and_other_methods_are_refused(tmp_path: Path) -> None:
    method = audio_mae(True)
    png = save_audio_reconstruction_grid(method, clips(), tmp_path / "r.png", max_clips=2)
    with Image.open(png) as im:
        width, height = im.size
    assert 0.3 < height / width < 0.6  # 2 rows of 3 panels
    assert not list(tmp_path.glob("*.tmp*"))
    vit = create_backbone("audio_vit_tiny", sample_rate=8000, dim=32, depth=1, heads=2)
    with pytest.raises(ValueError, match="audio_mae"):
        audio_reconstruction_panels(vit, clips())  # type: ignore[arg-type]
    with pytest.raises(ValueError, match="mono"):
        audio_reconstruction_panels(method, [torch.zeros(2, 800)])

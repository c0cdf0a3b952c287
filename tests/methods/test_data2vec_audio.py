"""data2vec (speech): loss at masked real frames only, top-K capped at the depth, the teacher's
momentum schedule, and both audio backbones."""

from __future__ import annotations

import pytest
import torch

from selfsup.backbones import create_backbone
from selfsup.methods import create_method
from selfsup.methods.audio.data2vec_audio import Data2VecAudio
from selfsup.nn.audio_padding import pad_clips
from tiny_methods import TINY_AUDIO_VIT, TINY_WAV2VEC2


def tiny_d2v(backbone: str = "wav2vec2_tiny", **kwargs: object) -> Data2VecAudio:
    torch.manual_seed(0)
    settings = TINY_WAV2VEC2 if backbone == "wav2vec2_tiny" else TINY_AUDIO_VIT
    method = create_method(
        "data2vec_audio", backbone=create_backbone(backbone, **settings), **kwargs
    )
    assert isinstance(method, Data2VecAudio)
    return method.eval()


def clips(lengths: list[int], total: int | None = None) -> torch.Tensor:
    gen = torch.Generator().manual_seed(1)
    return pad_clips([0.1 * torch.randn(n, generator=gen) for n in lengths], total)


def test_top_k_is_capped_at_the_depth() -> None:
    assert tiny_d2v().top_k == 2  # tiny depth 2, paper's 8 asked


@pytest.mark.parametrize("backbone", ["wav2vec2_tiny", "audio_vit_tiny"])
def test_padding_never_enters_the_loss(backbone: str) -> None:
    method = tiny_d2v(backbone)
    x = clips([4000, 2000], total=4000)
    valid = method.audio.valid_tokens(x)
    mask = valid & (torch.rand(valid.shape, generator=torch.Generator().manual_seed(3)) < 0.5)
    with torch.no_grad():
        base = method.masked_loss(x, mask)["sample_loss"]
        # A mask over padding tokens is ignored.
        assert torch.allclose(method.masked_loss(x, mask | ~valid)["sample_loss"], base)
        longer = torch.cat([x, torch.full((2, 1600), float("nan"))], dim=1)
        long_valid = method.audio.valid_tokens(longer)
        long_mask = torch.zeros_like(long_valid)
        if backbone == "audio_vit_tiny":  # row-major (mel, time) grid: widen each mel row
            n_f, n_t = method.audio.patch_grid_for(x)  # type: ignore[attr-defined]
            n_t_long = method.audio.patch_grid_for(longer)[1]  # type: ignore[attr-defined]
            long_mask.view(2, n_f, n_t_long)[:, :, :n_t] = mask.view(2, n_f, n_t)
        else:
            long_mask[:, : mask.shape[1]] = mask
        out = method.masked_loss(longer, long_mask)["sample_loss"]
    assert int(long_valid.sum()) == int(valid.sum())
    assert torch.allclose(out, base, atol=1e-4)


def test_masked_real_frames_do_drive_the_loss() -> None:
    method = tiny_d2v()
    x = clips([4000, 2000])
    valid = method.audio.valid_tokens(x)
    with torch.no_grad():
        few = method.masked_loss(x, valid & (torch.arange(valid.shape[1]) < 5))["sample_loss"]
        many = method.masked_loss(x, valid & (torch.arange(valid.shape[1]) < 20))["sample_loss"]
    assert not torch.allclose(few, many)


def test_span_masks_cover_real_frames_only_and_whole_columns_on_spectrograms() -> None:
    method = tiny_d2v("audio_vit_tiny", mask_span=2, mask_start_prob=0.3)
    x = clips([8000, 3000])
    mask = method.mask(x, torch.Generator().manual_seed(0))
    valid = method.audio.valid_tokens(x)
    assert mask.any() and not (mask & ~valid).any()
    n_f, n_t = method.audio.patch_grid_for(x)  # type: ignore[attr-defined]
    grid = mask.view(2, n_f, n_t)
    assert torch.equal(grid, grid[:, :1].expand_as(grid))


def test_teacher_momentum_follows_its_linear_schedule() -> None:
    method = tiny_d2v(momentum_anneal_steps=10)
    opt = torch.optim.SGD(method.parameters(), lr=0.1)
    gen = torch.Generator().manual_seed(0)
    seen = []
    for step in range(1, 13):
        out = method.training_step({"input": clips([4000, 3000])}, generator=gen)
        opt.zero_grad()
        out["loss"].backward()
        opt.step()
        method.on_step_end(step, 12)
        seen.append(method.ema.momentum)
    expected = [0.999 + (0.9999 - 0.999) * min(s, 10) / 10 for s in range(1, 13)]
    assert seen == pytest.approx(expected, abs=1e-9)
    assert seen[-1] == pytest.approx(0.9999) and seen[0] < seen[5]


def test_rejects_an_image_backbone() -> None:
    backbone = create_backbone("vit_tiny", img_size=16, patch_size=4, depth=2)
    with pytest.raises(ValueError, match="audio backbone"):
        create_method("data2vec_audio", backbone=backbone)

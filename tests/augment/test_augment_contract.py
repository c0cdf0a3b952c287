"""Every registered augment, with its defaults: float32 views of the batch in its modality's
form, fixed by the generator's seed, and drawn per sample."""

from __future__ import annotations

from collections.abc import Callable

import pytest
import torch
from torch import nn

from selfsup.augment import AUGMENTS, create_augment, list_augments, register_augment
from selfsup.nn.audio_padding import pad_clips


def uint8_images(n: int, seed: int = 0) -> torch.Tensor:
    """``n`` random non-square RGB images: every recipe must crop them to its square sizes."""
    gen = torch.Generator().manual_seed(seed)
    return torch.randint(0, 256, (n, 3, 40, 30), generator=gen, dtype=torch.uint8)


def padded_waveforms(n: int, seed: int = 0) -> torch.Tensor:
    """``n`` noise clips of 0.5-2 s at 16 kHz (the recipes' default rate), NaN-padded: every
    recipe must crop the long ones and keep the short ones whole."""
    gen = torch.Generator().manual_seed(seed)
    lengths = [32000, 8000, 24000, 17000, 16000, 20000]
    return pad_clips([torch.randn(lengths[i % 6], generator=gen) for i in range(n)])


def check_image_view(v: torch.Tensor, n: int) -> None:
    assert v.ndim == 4 and v.shape[:2] == (n, 3) and v.shape[2] == v.shape[3], v.shape
    assert torch.isfinite(v).all()


def check_audio_view(v: torch.Tensor, n: int) -> None:
    assert v.ndim == 2 and v.shape[0] == n, v.shape
    real = ~torch.isnan(v)
    assert real.any(dim=1).all() and torch.isfinite(v[real]).all()
    # Padding only at the end of each row.
    assert torch.equal(real, torch.arange(v.shape[1])[None, :] < real.sum(dim=1, keepdim=True))


# An augment's ``modality`` tag -> a batch of ``n`` inputs of that modality and a check of
# one view of ``n`` items.
INPUTS: dict[str, Callable[[int], torch.Tensor]] = {
    "image": uint8_images,
    "audio": padded_waveforms,
}
VIEW_CHECKS: dict[str, Callable[[torch.Tensor, int], None]] = {
    "image": check_image_view,
    "audio": check_audio_view,
}


def batch_for(name: str, n: int) -> torch.Tensor:
    """A batch for augment ``name``'s modality; fails when there is no input for it."""
    modality = AUGMENTS.tags(name).get("modality")
    if modality not in INPUTS:
        pytest.fail(f"augment '{name}' has modality {modality!r}: no contract input for it")
    return INPUTS[modality](n)


def views(aug: nn.Module, x: torch.Tensor, seed: int) -> list[torch.Tensor]:
    return aug(x, torch.Generator().manual_seed(seed))


def same(u: torch.Tensor, v: torch.Tensor) -> bool:
    """Equal, NaN padding included."""
    return torch.allclose(u, v, rtol=0, atol=0, equal_nan=True)


@pytest.mark.parametrize("name", list_augments())
def test_views_are_float32_square_batches_and_leave_the_input_alone(name: str) -> None:
    aug = create_augment(name)
    x = batch_for(name, 6)
    original = x.clone()
    out = views(aug, x, 0)
    assert isinstance(out, list) and len(out) == aug.num_views >= 1
    for v in out:
        assert v.dtype == torch.float32 and not v.requires_grad
        VIEW_CHECKS[AUGMENTS.tags(name)["modality"]](v, 6)
    assert same(x, original)


@pytest.mark.parametrize("name", list_augments())
def test_same_seed_same_views_other_seed_other_views(name: str) -> None:
    aug = create_augment(name)
    x = batch_for(name, 6)
    a, b, c = views(aug, x, 3), views(aug, x, 3), views(aug, x, 4)
    assert all(same(u, v) for u, v in zip(a, b, strict=True))
    assert all(not torch.allclose(u, w, equal_nan=True) for u, w in zip(a, c, strict=True))


@pytest.mark.parametrize("name", list_augments())
def test_copies_of_one_sample_get_different_views(name: str) -> None:
    aug = create_augment(name)
    x = batch_for(name, 1).expand(8, *batch_for(name, 1).shape[1:]).contiguous()
    for i, v in enumerate(views(aug, x, 0)):
        flat = torch.nan_to_num(v).flatten(1)
        assert torch.cdist(flat, flat).fill_diagonal_(float("inf")).min() > 1e-3, (name, i)


def test_an_augment_of_an_unknown_modality_fails() -> None:
    @register_augment("untested_augment", modality="smell")
    def untested() -> nn.Module:
        return nn.Identity()

    try:
        assert "untested_augment" in list_augments()
        with pytest.raises(pytest.fail.Exception, match="no contract input"):
            batch_for("untested_augment", 2)
    finally:
        AUGMENTS.unregister("untested_augment")

"""Every registered augment, with its defaults: float32 views of the batch, fixed by the
generator's seed, and drawn per sample."""

from __future__ import annotations

from collections.abc import Callable

import pytest
import torch
from torch import nn

from selfsup.augment import AUGMENTS, create_augment, list_augments, register_augment


def uint8_images(n: int, seed: int = 0) -> torch.Tensor:
    """``n`` random non-square RGB images: every recipe must crop them to its square sizes."""
    gen = torch.Generator().manual_seed(seed)
    return torch.randint(0, 256, (n, 3, 40, 30), generator=gen, dtype=torch.uint8)


# An augment's ``modality`` tag -> a batch of ``n`` inputs of that modality.
INPUTS: dict[str, Callable[[int], torch.Tensor]] = {"image": uint8_images}


def batch_for(name: str, n: int) -> torch.Tensor:
    """A batch for augment ``name``'s modality; fails when there is no input for it."""
    modality = AUGMENTS.tags(name).get("modality")
    if modality not in INPUTS:
        pytest.fail(f"augment '{name}' has modality {modality!r}: no contract input for it")
    return INPUTS[modality](n)


def views(aug: nn.Module, x: torch.Tensor, seed: int) -> list[torch.Tensor]:
    return aug(x, torch.Generator().manual_seed(seed))


@pytest.mark.parametrize("name", list_augments())
def test_views_are_float32_square_batches_and_leave_the_input_alone(name: str) -> None:
    aug = create_augment(name)
    x = batch_for(name, 6)
    original = x.clone()
    out = views(aug, x, 0)
    assert isinstance(out, list) and len(out) == aug.num_views >= 1
    for v in out:
        assert v.dtype == torch.float32 and not v.requires_grad
        assert v.ndim == 4 and v.shape[:2] == (6, 3) and v.shape[2] == v.shape[3], v.shape
        assert torch.isfinite(v).all()
    assert torch.equal(x, original)


@pytest.mark.parametrize("name", list_augments())
def test_same_seed_same_views_other_seed_other_views(name: str) -> None:
    aug = create_augment(name)
    x = batch_for(name, 6)
    a, b, c = views(aug, x, 3), views(aug, x, 3), views(aug, x, 4)
    assert all(torch.equal(u, v) for u, v in zip(a, b, strict=True))
    assert all(not torch.allclose(u, w) for u, w in zip(a, c, strict=True))


@pytest.mark.parametrize("name", list_augments())
def test_copies_of_one_sample_get_different_views(name: str) -> None:
    aug = create_augment(name)
    x = batch_for(name, 1).expand(8, *batch_for(name, 1).shape[1:]).contiguous()
    for i, v in enumerate(views(aug, x, 0)):
        flat = v.flatten(1)
        assert torch.cdist(flat, flat).fill_diagonal_(float("inf")).min() > 1e-3, (name, i)


def test_an_augment_of_an_unknown_modality_fails() -> None:
    @register_augment("untested_augment", modality="audio")
    def untested() -> nn.Module:
        return nn.Identity()

    try:
        assert "untested_augment" in list_augments()
        with pytest.raises(pytest.fail.Exception, match="no contract input"):
            batch_for("untested_augment", 2)
    finally:
        AUGMENTS.unregister("untested_augment")

"""Colorization and inpainting pictures: what the encoder was given and what it predicted."""

from __future__ import annotations

from pathlib import Path

import pytest
import torch

from selfsup.augment import create_augment
from selfsup.augment.lab import L_MAX, rgb_to_lab
from selfsup.backbones import create_backbone
from selfsup.methods import create_method
from selfsup.visualize.pretext import HOLE_GRAY, pretext_panels
from selfsup.visualize.reconstruction import check_reconstructs, save_reconstruction_grid


def method(name: str, **kwargs: object) -> torch.nn.Module:
    torch.manual_seed(0)
    return create_method(
        name,
        backbone=create_backbone("resnet_tiny"),
        augment=create_augment("crop_flip", size=16),
        decoder_width=16,
        **kwargs,
    )


def images(n: int = 3) -> torch.Tensor:
    return torch.randint(0, 256, (n, 3, 16, 16), dtype=torch.uint8)


def test_colorization_shows_the_lightness_it_was_given_and_its_colours() -> None:
    x = images()
    panels, titles = pretext_panels(method("colorization"), x)
    assert panels.shape == (3, 3, 3, 16, 16) and titles[1] == "lightness (input)"
    original, grey, colour = panels.unbind(1)
    torch.testing.assert_close(original, x.float() / 255, atol=1e-5, rtol=0)
    assert torch.equal(grey[:, 0], grey[:, 1]) and torch.equal(grey[:, 1], grey[:, 2])
    torch.testing.assert_close(grey[:, :1], rgb_to_lab(original)[:, :1] / L_MAX)
    assert not torch.allclose(colour, grey, atol=1e-2)  # predicted colours, not grey


def test_inpainting_shows_the_hole_and_fills_only_it() -> None:
    x = images()
    panels, titles = pretext_panels(method("inpainting", hole="center", hole_area=0.25), x)
    original, holed, filled = panels.unbind(1)
    inside = torch.zeros(16, 16, dtype=torch.bool)
    inside[4:12, 4:12] = True  # a centred square of a quarter of the area
    assert (holed[..., inside] == HOLE_GRAY).all()
    torch.testing.assert_close(holed[..., ~inside], original[..., ~inside])
    torch.testing.assert_close(filled[..., ~inside], original[..., ~inside], atol=1e-5, rtol=0)
    assert not torch.allclose(filled[..., inside], original[..., inside], atol=1e-2)
    assert titles == ("original", "hole (25%, center)", "filled in")


def test_the_grid_is_written_and_other_methods_are_refused(tmp_path: Path) -> None:
    out = save_reconstruction_grid(method("colorization"), images(4), tmp_path / "c.png")
    assert out.stat().st_size > 1000
    simclr = create_method(
        "simclr", backbone=create_backbone("resnet_tiny"), augment=create_augment("simclr")
    )
    with pytest.raises(ValueError, match="mae, colorization or inpainting"):
        check_reconstructs(simclr)

"""Colour ops against torchvision's functional ops and Python's colorsys."""

from __future__ import annotations

import colorsys
from collections.abc import Callable

import pytest
import torch
from torchvision.transforms.v2 import functional as TF

from selfsup.augment.color import (
    adjust_brightness_,
    adjust_contrast_,
    adjust_saturation,
    color_jitter,
    random_grayscale,
    random_solarize,
)
from selfsup.augment.hue import adjust_hue, yiq_hue_matrices


def batch(b: int = 4, c: int = 3, seed: int = 0) -> torch.Tensor:
    return torch.rand(b, c, 8, 8, generator=torch.Generator().manual_seed(seed))


def per_image(fn: Callable, x: torch.Tensor, factors: torch.Tensor) -> torch.Tensor:
    return torch.stack([fn(img, f.item()) for img, f in zip(x, factors, strict=True)])


@pytest.mark.parametrize(
    ("ours", "theirs"),
    [
        (adjust_brightness_, TF.adjust_brightness),
        (adjust_contrast_, TF.adjust_contrast),
        (adjust_saturation, TF.adjust_saturation),
    ],
)
def test_brightness_contrast_saturation_match_torchvision(ours: Callable, theirs: Callable) -> None:
    x = batch()
    factors = torch.tensor([0.2, 0.9, 1.0, 1.8])
    ref = per_image(theirs, x, factors)
    torch.testing.assert_close(ours(x.clone(), factors), ref, atol=1e-5, rtol=0)


def test_contrast_on_one_channel_uses_the_image_mean() -> None:
    x = batch(c=1)
    factors = torch.tensor([0.5, 1.5, 1.0, 0.0])
    ref = per_image(TF.adjust_contrast, x, factors)
    torch.testing.assert_close(adjust_contrast_(x.clone(), factors), ref, atol=1e-5, rtol=0)


def test_hsv_hue_matches_torchvision_and_colorsys() -> None:
    x = batch()
    shifts = torch.tensor([-0.5, -0.1, 0.07, 0.33])
    ours = adjust_hue(x, shifts, "hsv")
    torch.testing.assert_close(ours, per_image(TF.adjust_hue, x, shifts), atol=1e-5, rtol=0)
    r, g, b = x[1, :, 2, 3].tolist()
    h, s, v = colorsys.rgb_to_hsv(r, g, b)
    expect = colorsys.hsv_to_rgb((h - 0.1) % 1.0, s, v)
    torch.testing.assert_close(ours[1, :, 2, 3], torch.tensor(expect), atol=1e-5, rtol=0)


@pytest.mark.parametrize("space", ["hsv", "yiq"])
def test_hue_shift_zero_is_identity(space: str) -> None:
    x = batch()
    torch.testing.assert_close(adjust_hue(x, torch.zeros(4), space), x, atol=1e-5, rtol=0)


def test_hsv_third_turn_maps_red_to_green_to_blue() -> None:
    rgb = torch.eye(3).view(3, 3, 1, 1)  # pure red, green, blue images
    out = adjust_hue(rgb, torch.full((3,), 1 / 3), "hsv")
    torch.testing.assert_close(out.view(3, 3), torch.eye(3).roll(1, dims=1), atol=1e-6, rtol=0)


def test_yiq_hue_rotates_chroma_as_colorsys_yiq_does() -> None:
    # colorsys works in YIQ with slightly rounded coefficients, hence the loose tolerance.
    rgb = (0.6, 0.4, 0.2)
    y, i, q = colorsys.rgb_to_yiq(*rgb)
    turn = 0.1
    angle = -2 * torch.pi * turn  # positive shifts go red -> yellow -> green, as in HSV
    c, s = float(torch.cos(torch.tensor(angle))), float(torch.sin(torch.tensor(angle)))
    expect = colorsys.yiq_to_rgb(y, c * i - s * q, s * i + c * q)
    out = adjust_hue(torch.tensor(rgb).view(1, 3, 1, 1), torch.tensor([turn]), "yiq")
    torch.testing.assert_close(out.view(3), torch.tensor(expect), atol=5e-3, rtol=0)


def test_yiq_hue_keeps_luma_and_moves_red_like_hsv_does() -> None:
    m = yiq_hue_matrices(torch.tensor([0.0, 0.25, 1.0]))
    torch.testing.assert_close(m[0], torch.eye(3), atol=1e-6, rtol=0)
    torch.testing.assert_close(m[2], torch.eye(3), atol=1e-6, rtol=0)  # a full turn
    luma = torch.tensor([0.299, 0.587, 0.114])
    torch.testing.assert_close(luma @ m[1], luma, atol=1e-6, rtol=0)
    orange = adjust_hue(torch.tensor([0.8, 0.2, 0.2]).view(1, 3, 1, 1), torch.tensor([0.05]))
    _, g, b = orange.view(3).tolist()
    assert g > 0.2 + 0.05 and b < 0.2  # red moved towards yellow, as an HSV hue increase does


def test_grayscale_where_chosen_with_equal_channels() -> None:
    x = batch()
    apply = torch.tensor([True, False, True, False])
    out = random_grayscale(x, apply)
    ref = TF.rgb_to_grayscale(x, num_output_channels=3)
    torch.testing.assert_close(out[apply], ref[apply], atol=1e-6, rtol=0)
    assert torch.equal(out[apply][:, 0], out[apply][:, 1])
    assert torch.equal(out[apply][:, 1], out[apply][:, 2])
    assert torch.equal(out[~apply], x[~apply])


def test_solarize_matches_torchvision() -> None:
    x = batch()
    apply = torch.tensor([True, True, False, False])
    out = random_solarize(x, apply, 0.5)
    torch.testing.assert_close(out[apply], TF.solarize(x[apply], 0.5))
    assert torch.equal(out[~apply], x[~apply])


def test_jitter_applies_ops_in_the_given_order() -> None:
    x = batch()
    b, c, s, h = (torch.full((4,), v) for v in (1.6, 0.5, 1.4, 0.1))
    for order in [(0, 1, 2, 3), (3, 2, 1, 0)]:
        ref = x.clone()
        for op in order:
            fn = [TF.adjust_brightness, TF.adjust_contrast, TF.adjust_saturation, TF.adjust_hue][op]
            ref = fn(ref, [1.6, 0.5, 1.4, 0.1][op])
        out = color_jitter(x.clone(), b, c, s, h, order, hue_space="hsv")
        torch.testing.assert_close(out, ref, atol=1e-5, rtol=0)
    first = color_jitter(x.clone(), b, c, s, h, (0, 1, 2, 3), "hsv")
    assert not torch.allclose(first, out, atol=1e-3)  # the order matters

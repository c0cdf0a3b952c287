"""Colorization sees lightness only, in training and in evaluation alike."""

from __future__ import annotations

import pytest
import torch

from pretext_helpers import smooth_images
from selfsup.augment import create_augment
from selfsup.augment.lab import rgb_to_lab
from selfsup.backbones import create_backbone
from selfsup.methods import create_method
from selfsup.methods.pretext.colorization import Colorization


def colorization(**kwargs: object) -> Colorization:
    method = create_method(
        "colorization",
        backbone=create_backbone("resnet_tiny"),
        augment=create_augment("crop_flip", size=16),
        decoder_width=16,
        **kwargs,
    )
    assert isinstance(method, Colorization)
    return method


def test_eval_input_is_the_lightness_on_every_channel() -> None:
    method = colorization()
    images = smooth_images(4, 16)
    x = method.eval_input(images)
    assert x.shape == (4, 3, 16, 16)
    assert torch.equal(x[:, 0], x[:, 1]) and torch.equal(x[:, 0], x[:, 2])
    lightness = rgb_to_lab(images.float() / 255)[:, 0]
    torch.testing.assert_close(x[:, 0], lightness / 50 - 1, atol=1e-3, rtol=0)


@pytest.mark.parametrize("target", ["classification", "regression"])
def test_colorize_gives_rgb_images(target: str) -> None:
    out = colorization(target=target).eval().colorize(smooth_images(2, 16))
    assert out.shape == (2, 3, 16, 16) and out.min() >= 0 and out.max() <= 1


def test_unknown_target_is_refused() -> None:
    with pytest.raises(ValueError, match="classification or regression"):
        colorization(target="gan")

"""Crop + resize + flip and blur against torchvision's reference implementations."""

from __future__ import annotations

import dataclasses

import pytest
import torch
from torchvision.transforms.v2 import functional as TF

from selfsup.augment import ImageViews, ViewParams, ViewSpec
from selfsup.augment.geometry import crop_resize, gaussian_blur, rotate

MEAN, STD = (0.5, 0.4, 0.3), (0.2, 0.25, 0.3)


def images(b: int, h: int, w: int, c: int = 3, seed: int = 0) -> torch.Tensor:
    gen = torch.Generator().manual_seed(seed)
    return torch.randint(0, 256, (b, c, h, w), generator=gen, dtype=torch.uint8)


def normalized(x: torch.Tensor) -> torch.Tensor:
    mean, std = torch.tensor(MEAN).view(1, 3, 1, 1), torch.tensor(STD).view(1, 3, 1, 1)
    return (x.float() / 255 - mean) / std


def static_spec(size: int) -> ViewSpec:
    return ViewSpec(size, scale=(1.0, 1.0), ratio=(1.0, 1.0), flip_p=0.0, jitter_p=0.0, gray_p=0.0)


def test_identity_spec_reproduces_the_normalized_input() -> None:
    x = images(4, 16, 16)
    views = ImageViews([static_spec(16)], MEAN, STD)
    (out,) = views(x, torch.Generator().manual_seed(0))
    torch.testing.assert_close(out, normalized(x), atol=1e-5, rtol=0)


@pytest.mark.parametrize(
    ("box", "in_hw", "size"),
    [
        ((3, 5, 9, 7), (16, 20), 24),  # enlarged (the CIFAR case)
        ((2, 1, 30, 27), (32, 40), 12),  # shrunk: antialiased like torchvision
        ((0, 0, 20, 16), (16, 20), 16),  # whole image, both directions
    ],
)
def test_known_box_equals_torchvision_resized_crop(box: tuple, in_hw: tuple, size: int) -> None:
    x = images(2, *in_hw)
    left, top, width, height = box
    ref = TF.resized_crop(x.float(), top, left, height, width, [size, size], antialias=True)
    boxes = torch.tensor([box], dtype=torch.float32).expand(2, 4)
    out = crop_resize(x.float(), boxes, size)
    torch.testing.assert_close(out, ref, atol=2e-3, rtol=0)  # on the 0..255 scale


def test_without_antialias_matches_plain_bilinear() -> None:
    x = images(2, 32, 40)
    ref = TF.resized_crop(x.float(), 1, 2, 27, 30, [12, 12], antialias=False)
    boxes = torch.tensor([[2.0, 1.0, 30.0, 27.0]]).expand(2, 4)
    torch.testing.assert_close(
        crop_resize(x.float(), boxes, 12, antialias=False), ref, atol=2e-3, rtol=0
    )


def test_flip_equals_torch_flip_per_sample() -> None:
    x = images(4, 16, 16)
    views = ImageViews([static_spec(16)], MEAN, STD)
    params = ViewParams.identity(4, 16, 16)
    params.flip = torch.tensor([True, False, True, False])
    (out,) = views.render(x, [params])
    ref = normalized(x)
    ref[params.flip] = ref[params.flip].flip(-1)
    torch.testing.assert_close(out, ref, atol=1e-5, rtol=0)


def test_each_sample_gets_its_own_box() -> None:
    x = images(3, 20, 20)
    boxes = torch.tensor([[0.0, 0.0, 10.0, 10.0], [10.0, 10.0, 10.0, 10.0], [4.0, 2.0, 8.0, 12.0]])
    out = crop_resize(x.float(), boxes, 10)
    torch.testing.assert_close(out[0], x[0, :, :10, :10].float())
    torch.testing.assert_close(out[1], x[1, :, 10:, 10:].float())
    ref = TF.resized_crop(x[2].float(), 2, 4, 12, 8, [10, 10], antialias=True)
    torch.testing.assert_close(out[2], ref, atol=2e-3, rtol=0)


def test_blur_matches_torchvision_gaussian_blur_per_sample_sigma() -> None:
    x = images(3, 16, 16).float() / 255
    sigma = torch.tensor([0.5, 1.7, 0.0])
    out = gaussian_blur(x, sigma, 5)
    for i in range(2):
        ref = TF.gaussian_blur(x[i], [5, 5], [sigma[i].item()] * 2)
        torch.testing.assert_close(out[i], ref, atol=1e-5, rtol=0)
    torch.testing.assert_close(out[2], x[2])  # sigma 0: unchanged


def test_blur_kernel_too_large_for_view_is_an_error() -> None:
    with pytest.raises(ValueError, match="too large"):
        gaussian_blur(torch.zeros(1, 3, 4, 4), torch.ones(1), 9)


def test_rotation_matches_torchvision_rotate_per_sample() -> None:
    x = images(4, 16, 16).float() / 255
    angles = torch.tensor([0.0, 90.0, -30.0, 12.5])
    out = rotate(x, angles)
    for i, a in enumerate(angles.tolist()):
        ref = TF.rotate(x[i], a, interpolation=TF.InterpolationMode.BILINEAR)
        torch.testing.assert_close(out[i], ref, atol=1e-5, rtol=0)
    torch.testing.assert_close(out[1], torch.rot90(x[1], 1, dims=(1, 2)), atol=1e-5, rtol=0)


def test_view_with_rotation_is_the_rotated_unrotated_view() -> None:
    x = images(3, 12, 12)
    spec = ViewSpec(12, scale=(0.5, 1.0), flip_p=0.5, jitter_p=0.0, gray_p=0.0, rotate_degrees=45)
    views = ImageViews([spec], MEAN, STD)
    params = views.sample_params(3, 12, 12, "cpu", torch.Generator().manual_seed(0))
    (turned,) = views.render(x, params)
    assert params[0].angle is not None
    (upright,) = views.render(x, [dataclasses.replace(params[0], angle=None)])
    mean, std = torch.tensor(MEAN).view(1, 3, 1, 1), torch.tensor(STD).view(1, 3, 1, 1)
    expected = (rotate(upright * std + mean, params[0].angle) - mean) / std
    torch.testing.assert_close(turned, expected, atol=1e-5, rtol=0)

"""Patch whitening: the stem's filters decorrelate the data's patches to unit variance."""

from __future__ import annotations

import pytest
import torch
import torch.nn.functional as F
from torch import nn

from selfsup.nn.whitening import patch_whitening_filters, whiten_conv_


def correlated_images(n: int = 200, size: int = 10) -> torch.Tensor:
    """Smooth, colour-correlated images: neighbouring pixels and channels share signal."""
    gen = torch.Generator().manual_seed(0)
    base = F.avg_pool2d(torch.randn(n, 1, size + 2, size + 2, generator=gen), 3, stride=1)
    return 3.0 * base.expand(n, 3, size, size) + 0.5 * torch.randn(n, 3, size, size, generator=gen)


def patch_covariance(images: torch.Tensor, filters: torch.Tensor) -> torch.Tensor:
    responses = F.conv2d(images.double(), filters.double())  # [N, count, h, w]
    flat = responses.transpose(0, 1).reshape(filters.shape[0], -1)
    flat = flat - flat.mean(dim=1, keepdim=True)
    return flat @ flat.T / flat.shape[1]


def test_filter_responses_are_decorrelated_with_unit_variance() -> None:
    images = correlated_images()
    filters = patch_whitening_filters(images, kernel=3, count=12)
    assert filters.shape == (12, 3, 3, 3)
    cov = patch_covariance(images, filters)
    torch.testing.assert_close(cov, torch.eye(12, dtype=torch.float64), atol=0.05, rtol=0)
    raw = patch_covariance(images, torch.eye(27).reshape(27, 3, 3, 3)[:12])
    assert (raw - torch.diag(raw.diagonal())).abs().max() > 1.0  # the input was correlated


def test_resnet_stem_gets_signed_pairs_and_extra_filters_keep_their_init() -> None:
    images = correlated_images()
    small = nn.Conv2d(3, 32, 3, padding=1, bias=False)
    assert whiten_conv_(small, images) == 32
    torch.testing.assert_close(small.weight[:16], -small.weight[16:])

    wide = nn.Conv2d(3, 64, 3, padding=1, bias=True)
    before = wide.weight.detach().clone()
    assert whiten_conv_(wide, images) == 54  # only 27 patch dimensions to whiten
    torch.testing.assert_close(wide.weight[54:], before[54:])
    assert not torch.allclose(wide.weight[:54], before[:54])
    assert torch.count_nonzero(wide.bias[:54]) == 0


@pytest.mark.parametrize(
    ("conv", "images", "match"),
    [
        (nn.Conv2d(1, 8, 3), torch.randn(4, 3, 8, 8), "1 channels"),
        (nn.Conv2d(3, 8, 3, groups=1), torch.randn(4, 3, 2, 2), "at least 3 px"),
        (nn.Conv2d(3, 6, 3, groups=3), torch.randn(4, 3, 8, 8), "ungrouped"),
    ],
)
def test_mismatched_inputs_raise_one_line(
    conv: nn.Conv2d, images: torch.Tensor, match: str
) -> None:
    with pytest.raises(ValueError, match=match) as info:
        whiten_conv_(conv, images)
    assert "\n" not in str(info.value)

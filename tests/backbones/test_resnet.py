"""ResNet backbones: stems, parameter counts against torchvision, init and input checks."""

from __future__ import annotations

import pytest
import torch
from torchvision import models
from torchvision.models.resnet import BasicBlock, ResNet

from selfsup.backbones import create_backbone
from selfsup.backbones.resnet import ResNetBackbone


def n_params(module: torch.nn.Module) -> int:
    return sum(p.numel() for p in module.parameters())


def without_fc(model: ResNet) -> int:
    return n_params(model) - n_params(model.fc)


def stem_delta(width: int, in_chans: int = 3) -> int:
    """Parameters a 7x7 stem conv has over a 3x3 one."""
    return width * in_chans * (7 * 7 - 3 * 3)


def test_cifar_stem_keeps_a_4x4_map_at_32px() -> None:
    x = torch.randn(2, 3, 32, 32)
    cifar = create_backbone("resnet18", cifar_stem=True)
    imagenet = create_backbone("resnet18")
    assert isinstance(cifar, ResNetBackbone) and isinstance(imagenet, ResNetBackbone)
    assert cifar.forward_map(x).shape == (2, 512, 4, 4)
    assert imagenet.forward_map(x).shape == (2, 512, 1, 1)


@pytest.mark.parametrize(
    ("name", "reference"),
    [("resnet18", models.resnet18), ("resnet34", models.resnet34), ("resnet50", models.resnet50)],
)
def test_param_count_is_torchvision_minus_fc(name: str, reference: type) -> None:
    ref = without_fc(reference(weights=None))
    assert n_params(create_backbone(name)) == ref
    assert n_params(create_backbone(name, cifar_stem=True)) == ref - stem_delta(64)


def test_resnet_small_is_one_basic_block_per_stage() -> None:
    ref = without_fc(ResNet(BasicBlock, [1, 1, 1, 1]))
    assert n_params(create_backbone("resnet_small", cifar_stem=False)) == ref


def basic_stage_params(c_in: int, c: int, stride: int) -> int:
    """One torchvision BasicBlock: two 3x3 convs + two BNs, plus a 1x1 conv + BN shortcut."""
    params = c_in * c * 9 + 2 * c + c * c * 9 + 2 * c
    if stride != 1 or c_in != c:
        params += c_in * c + 2 * c
    return params


def test_resnet_tiny_widths_and_param_count() -> None:
    model = create_backbone("resnet_tiny")
    widths = [32, 64, 128, 256]
    expected = 3 * 32 * 9 + 2 * 32  # CIFAR stem conv + BN
    for c_in, c, stride in zip([32, *widths[:-1]], widths, [1, 2, 2, 2], strict=True):
        expected += basic_stage_params(c_in, c, stride)
    assert model.feature_dim == 256
    assert n_params(model) == expected
    assert model.forward_features(torch.randn(2, 3, 32, 32)).shape == (2, 256)


@pytest.mark.parametrize("size", [8, 28, 32, 96, 224])
@pytest.mark.parametrize("cifar_stem", [True, False])
def test_accepts_small_and_large_images(size: int, cifar_stem: bool) -> None:
    model = create_backbone("resnet_tiny", cifar_stem=cifar_stem, in_chans=1).eval()
    with torch.no_grad():
        assert model(torch.randn(2, 1, size, size)).shape == (2, 256)


def test_features_equal_torchvision_forward_without_fc() -> None:
    model = create_backbone("resnet18", cifar_stem=True).eval()
    assert isinstance(model, ResNetBackbone)
    x = torch.randn(2, 3, 32, 32)
    with torch.no_grad():
        torch.testing.assert_close(model.forward_features(x), model.model(x))
        torch.testing.assert_close(model.forward_features(x), model.forward_map(x).mean((2, 3)))


@pytest.mark.parametrize("name", ["resnet18", "resnet50", "resnet_tiny"])
def test_zero_init_residual_zeroes_last_bn_of_every_branch(name: str) -> None:
    def last_bn_weights(zero: bool) -> list[torch.Tensor]:
        model = create_backbone(name, zero_init_residual=zero)
        return [
            getattr(block, "bn3", block.bn2).weight
            for block in model.modules()
            if isinstance(block, (BasicBlock, models.resnet.Bottleneck))
        ]

    assert all(w.abs().sum() == 0 for w in last_bn_weights(True))
    assert all(torch.equal(w, torch.ones_like(w)) for w in last_bn_weights(False))


def test_in_chans_and_wrong_channels_error() -> None:
    model = create_backbone("resnet18", in_chans=1)
    assert model(torch.randn(2, 1, 32, 32)).shape == (2, 512)
    with pytest.raises(ValueError, match=r"\[B, 1, H, W\]"):
        model(torch.randn(2, 3, 32, 32))

"""torchvision ResNets as backbones, with the small-image (CIFAR) stem and CPU-sized variants.

Every model here is a plain ``torchvision.models.ResNet``; the wrapper only swaps the stem,
drops ``fc`` and pools the final map, so checkpoints stay loadable by torchvision code.
"""

from __future__ import annotations

from collections.abc import Sequence

import torch
from torch import nn
from torchvision.models import resnet as tv_resnet

from selfsup.backbones.base import Backbone
from selfsup.backbones.registry import register_backbone


class ResNetBackbone(Backbone):
    """A torchvision ResNet without its classifier: features are the pooled final map.

    ``model`` is the wrapped ``torchvision.models.ResNet`` (its ``fc`` is ``nn.Identity``).
    """

    channels_last = True

    def __init__(self, model: tv_resnet.ResNet, feature_dim: int, in_chans: int) -> None:
        super().__init__()
        model.fc = nn.Identity()
        self.model = model
        self.feature_dim = feature_dim
        self.in_chans = in_chans

    def stem_conv(self) -> nn.Conv2d:
        """``conv1``, the stem that patch whitening initialises."""
        return self.model.conv1

    def forward_map(self, x: torch.Tensor) -> torch.Tensor:
        """The final feature map ``[B, feature_dim, h, w]`` before pooling (for dense methods)."""
        if x.ndim != 4 or x.shape[1] != self.in_chans:
            raise ValueError(
                f"{type(self).__name__} expects images [B, {self.in_chans}, H, W], "
                f"got shape {list(x.shape)}"
            )
        m = self.model
        x = m.maxpool(m.relu(m.bn1(m.conv1(x))))
        return m.layer4(m.layer3(m.layer2(m.layer1(x))))

    def forward_features(self, x: torch.Tensor) -> torch.Tensor:
        """Globally average-pooled features ``[B, feature_dim]``."""
        return torch.flatten(self.model.avgpool(self.forward_map(x)), 1)


def _init_like_torchvision(model: nn.Module, zero_init_residual: bool) -> None:
    """Re-apply torchvision's ResNet init after surgery (new layers start with torch defaults).

    Kaiming-normal convs and unit BN, and optionally a zero last BN per residual branch so each
    block starts as the identity (Goyal et al. 2017).
    """
    for mod in model.modules():
        if isinstance(mod, nn.Conv2d):
            nn.init.kaiming_normal_(mod.weight, mode="fan_out", nonlinearity="relu")
        elif isinstance(mod, (nn.BatchNorm2d, nn.GroupNorm)):
            nn.init.ones_(mod.weight)
            nn.init.zeros_(mod.bias)
    if zero_init_residual:
        for mod in model.modules():
            if isinstance(mod, tv_resnet.Bottleneck):
                nn.init.zeros_(mod.bn3.weight)
            elif isinstance(mod, tv_resnet.BasicBlock):
                nn.init.zeros_(mod.bn2.weight)


def _replace_stem(model: tv_resnet.ResNet, in_chans: int, width: int, cifar_stem: bool) -> None:
    """Swap ``conv1``/``bn1`` (and drop the max-pool for the CIFAR stem)."""
    if cifar_stem:
        # 3x3 stride-1 conv, no max-pool: 32 px inputs keep a 4x4 final map instead of 1x1.
        model.conv1 = nn.Conv2d(in_chans, width, kernel_size=3, stride=1, padding=1, bias=False)
        model.maxpool = nn.Identity()
    else:
        model.conv1 = nn.Conv2d(in_chans, width, kernel_size=7, stride=2, padding=3, bias=False)
    model.bn1 = nn.BatchNorm2d(width)


def build_resnet(
    block: type[tv_resnet.BasicBlock | tv_resnet.Bottleneck],
    layers: Sequence[int],
    widths: Sequence[int] = (64, 128, 256, 512),
    *,
    cifar_stem: bool = False,
    in_chans: int = 3,
    zero_init_residual: bool = False,
) -> ResNetBackbone:
    """Build a randomly initialised torchvision ResNet backbone.

    Args:
        block: torchvision's ``BasicBlock`` or ``Bottleneck``.
        layers: blocks per stage, e.g. ``(2, 2, 2, 2)`` for ResNet-18.
        widths: base channel width of each of the four stages.
        cifar_stem: 3x3 stride-1 first conv and no max-pool, for ~32 px inputs.
        in_chans: input channels.
        zero_init_residual: zero the last BN gamma of every residual branch.
    """
    if len(layers) != 4 or len(widths) != 4:
        raise ValueError(f"ResNet needs 4 stages, got layers={list(layers)} widths={list(widths)}")
    if in_chans < 1:
        raise ValueError(f"in_chans must be >= 1, got {in_chans}")
    model = tv_resnet.ResNet(block, list(layers))
    if tuple(widths) != (64, 128, 256, 512):
        # torchvision fixes the stage widths in ResNet.__init__; rebuild the stages with its own
        # _make_layer so blocks, downsampling and strides stay exactly torchvision's.
        model.inplanes = widths[0]
        model.layer1 = model._make_layer(block, widths[0], layers[0])
        model.layer2 = model._make_layer(block, widths[1], layers[1], stride=2)
        model.layer3 = model._make_layer(block, widths[2], layers[2], stride=2)
        model.layer4 = model._make_layer(block, widths[3], layers[3], stride=2)
    _replace_stem(model, in_chans, widths[0], cifar_stem)
    _init_like_torchvision(model, zero_init_residual)
    return ResNetBackbone(model, feature_dim=widths[3] * block.expansion, in_chans=in_chans)


def _register_resnet(
    name: str,
    block: type[tv_resnet.BasicBlock | tv_resnet.Bottleneck],
    layers: tuple[int, int, int, int],
    summary: str,
    widths: tuple[int, int, int, int] = (64, 128, 256, 512),
    cifar_stem_default: bool = False,
) -> None:
    """Register one ResNet; the factory's typed keywords are the ``backbone.*`` schema."""

    def factory(
        cifar_stem: bool = cifar_stem_default, in_chans: int = 3, zero_init_residual: bool = False
    ) -> ResNetBackbone:
        return build_resnet(
            block,
            layers,
            widths=widths,
            cifar_stem=cifar_stem,
            in_chans=in_chans,
            zero_init_residual=zero_init_residual,
        )

    factory.__name__ = factory.__qualname__ = name
    factory.__doc__ = f"""{summary}, random init.

    Args:
        cifar_stem: 3x3 stride-1 first conv and no max-pool, for ~32 px images.
        in_chans: input channels (1 for grey digits).
        zero_init_residual: start every residual block as the identity.
    """
    register_backbone(name)(factory)


_BASIC, _BOTTLENECK = tv_resnet.BasicBlock, tv_resnet.Bottleneck
_register_resnet("resnet18", _BASIC, (2, 2, 2, 2), "ResNet-18 (feature_dim 512)")
_register_resnet("resnet34", _BASIC, (3, 4, 6, 3), "ResNet-34 (feature_dim 512)")
_register_resnet("resnet50", _BOTTLENECK, (3, 4, 6, 3), "ResNet-50, bottleneck (feature_dim 2048)")
_register_resnet(
    "resnet_small",
    _BASIC,
    (1, 1, 1, 1),
    "ResNet-10-like: one basic block per stage, widths 64-128-256-512 (feature_dim "
    "512), CIFAR stem by default",
    cifar_stem_default=True,
)
_register_resnet(
    "resnet_tiny",
    _BASIC,
    (1, 1, 1, 1),
    "CPU-sized ResNet: one basic block per stage, widths 32-64-128-256 (feature_dim "
    "256), CIFAR stem by default",
    widths=(32, 64, 128, 256),
    cifar_stem_default=True,
)

"""State dicts that load unchanged into the upstream torchvision / timm classes.

selfsup's ResNets are plain ``torchvision.models.ResNet``s with ``fc`` replaced by an identity
(and, for small images, the CIFAR stem: a 3x3 stride-1 ``conv1`` and no max-pool); its ViTs
are ``timm.create_model(name, num_classes=0, ...)`` models. Their inner model's state dict is
therefore the upstream one; a recipe records how to build the class it loads into, as data
(``build_upstream``) and as the few lines of Python a user runs (``recipe["python"]``).
"""

from __future__ import annotations

from typing import Any

import torch
from torch import nn
from torchvision.models import resnet as tv_resnet

from selfsup.backbones.base import Backbone
from selfsup.backbones.resnet import ResNetBackbone
from selfsup.backbones.vit import ViTBackbone
from selfsup.export.info import UPSTREAM_FILE

TORCHVISION_WIDTHS = [64, 128, 256, 512]
# (block, blocks per stage) -> the torchvision constructor that builds exactly that ResNet.
NAMED_RESNETS: dict[tuple[str, tuple[int, ...]], str] = {
    ("BasicBlock", (2, 2, 2, 2)): "resnet18",
    ("BasicBlock", (3, 4, 6, 3)): "resnet34",
    ("Bottleneck", (3, 4, 6, 3)): "resnet50",
    ("Bottleneck", (3, 4, 23, 3)): "resnet101",
    ("Bottleneck", (3, 8, 36, 3)): "resnet152",
}
_LOAD = "from safetensors.torch import load_file"


def upstream_recipe(backbone: Backbone) -> dict[str, Any] | None:
    """How ``backbone``'s upstream state dict loads into torchvision / timm; ``file`` is None
    (with a ``reason``) when no upstream class builds it; None for other backbones."""
    if isinstance(backbone, ResNetBackbone):
        return _resnet_recipe(backbone.model)
    if isinstance(backbone, ViTBackbone):
        return _vit_recipe(backbone)
    return None


def upstream_state(backbone: Backbone) -> dict[str, torch.Tensor]:
    """The wrapped torchvision / timm model's tensors (selfsup's extras, like a ViT's
    ``mask_token``, stay out)."""
    model = getattr(backbone, "model", None)
    if not isinstance(model, nn.Module):
        raise TypeError(f"{type(backbone).__name__} wraps no upstream model")
    return dict(model.state_dict())


def _resnet_recipe(model: tv_resnet.ResNet) -> dict[str, Any]:
    stages = [model.layer1, model.layer2, model.layer3, model.layer4]
    block = type(stages[0][0]).__name__
    layers = [len(s) for s in stages]
    widths = [int(s[0].conv1.out_channels) for s in stages]
    conv1 = model.conv1
    stem = {
        "in_channels": int(conv1.in_channels),
        "out_channels": int(conv1.out_channels),
        "kernel_size": int(conv1.kernel_size[0]),
        "stride": int(conv1.stride[0]),
        "padding": int(conv1.padding[0]),
        "bias": conv1.bias is not None,
    }
    cifar = isinstance(model.maxpool, nn.Identity)
    standard = stem == {**stem, "in_channels": 3, "kernel_size": 7, "stride": 2, "padding": 3}
    recipe: dict[str, Any] = {
        "library": "torchvision",
        "block": block,
        "layers": layers,
        "widths": widths,
        "stem_swap": None if standard and not cifar else {"conv1": stem, "keep_maxpool": not cifar},
        "fc": "identity",
    }
    if widths != TORCHVISION_WIDTHS:
        reason = "-".join(map(str, widths)) + " stage widths: torchvision builds 64-128-256-512"
        return {**recipe, "file": None, "reason": reason, "constructor": None, "python": []}
    name = NAMED_RESNETS.get((block, tuple(layers)))
    if name:
        constructor, call = f"torchvision.models.{name}", f"torchvision.models.{name}()"
    else:
        constructor = "torchvision.models.resnet.ResNet"
        call = f"torchvision.models.resnet.ResNet(torchvision.models.resnet.{block}, {layers})"
    lines = ["import torch, torchvision", _LOAD, f"model = {call}"]
    if recipe["stem_swap"] is not None:
        s = stem
        lines.append(
            f"model.conv1 = torch.nn.Conv2d({s['in_channels']}, {s['out_channels']}, "
            f"kernel_size={s['kernel_size']}, stride={s['stride']}, padding={s['padding']}, "
            f"bias={s['bias']})"
        )
        if cifar:
            lines.append("model.maxpool = torch.nn.Identity()  # CIFAR stem: no max-pool")
    lines += [
        "model.fc = torch.nn.Identity()  # features; set an nn.Linear after loading to classify",
        f'model.load_state_dict(load_file("{UPSTREAM_FILE}"))  # strict',
        "model.eval()",
    ]
    return {**recipe, "file": UPSTREAM_FILE, "constructor": constructor, "python": lines}


def _vit_recipe(backbone: ViTBackbone) -> dict[str, Any]:
    model = backbone.model
    cfg: dict[str, Any] = dict(getattr(model, "pretrained_cfg", None) or {})
    name = str(cfg.get("architecture"))
    kwargs: dict[str, Any] = {
        "pretrained": False,
        "num_classes": 0,
        "img_size": [int(s) for s in model.patch_embed.img_size],
        "patch_size": backbone.patch_size,
        "in_chans": backbone.in_chans,
        "depth": len(model.blocks),
        "global_pool": str(model.global_pool),
        "fc_norm": False,
        "dynamic_img_size": bool(model.dynamic_img_size),
    }
    args = ", ".join(f"{k}={v!r}" for k, v in kwargs.items())
    lines = [
        "import timm",
        _LOAD,
        f'model = timm.create_model("{name}", {args})',
        f'model.load_state_dict(load_file("{UPSTREAM_FILE}"))  # strict',
        "model.eval()",
    ]
    return {
        "library": "timm",
        "constructor": "timm.create_model",
        "name": name,
        "kwargs": kwargs,
        "stem_swap": None,
        "file": UPSTREAM_FILE,
        "python": lines,
    }


def build_upstream(recipe: dict[str, Any]) -> nn.Module:
    """The (randomly initialised) upstream model a recipe describes, ready for a strict
    ``load_state_dict`` of the upstream file."""
    if recipe.get("file") is None:
        raise ValueError(f"no upstream model: {recipe.get('reason', 'not a torchvision/timm one')}")
    if recipe["library"] == "timm":
        import timm

        return timm.create_model(recipe["name"], **recipe["kwargs"])
    block = {"BasicBlock": tv_resnet.BasicBlock, "Bottleneck": tv_resnet.Bottleneck}
    model = tv_resnet.ResNet(block[recipe["block"]], list(recipe["layers"]))
    swap = recipe["stem_swap"]
    if swap is not None:
        model.conv1 = nn.Conv2d(**swap["conv1"])
        if not swap["keep_maxpool"]:
            model.maxpool = nn.Identity()
    model.fc = nn.Identity()
    return model

"""upstream.safetensors loads unchanged (strict) into torchvision's ResNet and timm's ViT, and
after the recorded stem swap they compute selfsup's features."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
import timm
import torch
import torchvision
from safetensors.torch import load_file
from torch import nn

from export_helpers import tiny_backbone
from selfsup.export.write import export_backbone


def _export(name: str, tmp_path: Path, **kwargs: object) -> tuple[nn.Module, dict]:
    backbone, info = tiny_backbone(name, **kwargs)
    export_backbone(backbone, info, tmp_path, "safetensors")
    return backbone, json.loads((tmp_path / "selfsup-encoder.json").read_text())


def _same_features(model: nn.Module, backbone: nn.Module, channels: int = 3) -> None:
    x = torch.randn(3, channels, 16, 16, generator=torch.Generator().manual_seed(3))
    with torch.no_grad():
        assert torch.allclose(model.eval()(x), backbone.forward_features(x), atol=1e-6)


def test_a_cifar_resnet18_loads_into_torchvision_after_the_stem_swap(tmp_path: Path) -> None:
    backbone, info = _export("resnet18", tmp_path, cifar_stem=True)
    model = torchvision.models.resnet18(num_classes=10)
    # The CIFAR stem swap: 3x3 stride-1 conv1 and no max-pool; fc becomes the identity.
    model.conv1 = nn.Conv2d(3, 64, kernel_size=3, stride=1, padding=1, bias=False)
    model.maxpool = nn.Identity()
    model.fc = nn.Identity()
    model.load_state_dict(load_file(tmp_path / "upstream.safetensors"), strict=True)
    _same_features(model, backbone)
    up = info["upstream"]
    assert up["constructor"] == "torchvision.models.resnet18"
    assert up["stem_swap"] == {
        "conv1": {
            "in_channels": 3,
            "out_channels": 64,
            "kernel_size": 3,
            "stride": 1,
            "padding": 1,
            "bias": False,
        },
        "keep_maxpool": False,
    }


def test_a_standard_stem_needs_no_swap(tmp_path: Path) -> None:
    backbone, info = _export("resnet18", tmp_path, cifar_stem=False)
    model = torchvision.models.resnet18()
    model.fc = nn.Identity()
    model.load_state_dict(load_file(tmp_path / "upstream.safetensors"), strict=True)
    _same_features(model, backbone)
    assert info["upstream"]["stem_swap"] is None


@pytest.mark.parametrize(
    ("name", "kwargs", "channels"),
    [
        ("resnet18", {"cifar_stem": True}, 3),
        ("resnet_small", {"in_chans": 1}, 1),  # no named constructor; a 1-channel stem
        ("vit_tiny", {}, 3),
    ],
)
def test_the_recorded_python_lines_rebuild_the_model(
    name: str,
    kwargs: dict,
    channels: int,
    tmp_path: Path,
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    backbone, info = _export(name, tmp_path, **kwargs)
    monkeypatch.chdir(tmp_path)  # the lines name the file relative to the export folder
    namespace: dict = {}
    exec("\n".join(info["upstream"]["python"]), namespace)
    _same_features(namespace["model"], backbone, channels)


def test_a_vit_loads_into_timm_create_model(tmp_path: Path) -> None:
    backbone, info = _export("vit_tiny", tmp_path)
    up = info["upstream"]
    assert up["name"] == "vit_tiny_patch16_224" and up["kwargs"]["num_classes"] == 0
    model = timm.create_model(up["name"], **up["kwargs"])
    model.load_state_dict(load_file(tmp_path / "upstream.safetensors"), strict=True)
    _same_features(model, backbone)


def test_widths_torchvision_cannot_build_get_a_reason_and_no_file(tmp_path: Path) -> None:
    _, info = _export("resnet_tiny", tmp_path)
    assert info["upstream"]["file"] is None and "32-64-128-256" in info["upstream"]["reason"]
    assert not (tmp_path / "upstream.safetensors").exists()
    assert "upstream" not in info["files"]


def test_text_encoders_have_no_upstream(tmp_path: Path) -> None:
    _, info = _export("text_encoder_tiny", tmp_path)
    assert info["upstream"] is None and info["files"]["tokenizer"] == "tokenizer.json"

"""Every registered backbone honours the Backbone interface on tiny inputs."""

from __future__ import annotations

import functools
from typing import Any

import pytest
import torch
from torch import nn

from selfsup.backbones import Backbone, create_backbone, list_backbones
from selfsup.backbones.audio_base import AudioBackbone
from selfsup.backbones.registry import backbone_modality
from selfsup.backbones.vit import ViTBackbone
from selfsup.modalities import list_modalities, modality_of, modality_of_backbone
from selfsup.registry import ConfigError

BATCH, SIZE, PATCH = 2, 32, 4  # SIZE: image side or sequence length


@functools.cache
def _build(name: str) -> Backbone:
    modality = backbone_modality(name)
    if modality not in list_modalities():  # its spec (tiny inputs) is not registered yet
        pytest.skip(f"{name}: modality '{modality}' has no registered spec to make its inputs")
    torch.manual_seed(0)
    kwargs: dict[str, Any] = modality_of_backbone(name).tiny_backbone_args()
    if name.startswith("vit"):
        kwargs |= {"img_size": SIZE, "patch_size": PATCH}
    if modality == "audio":
        kwargs |= {"depth": 2}
    return create_backbone(name, **kwargs)


def tiny(name: str) -> Backbone:
    """The backbone at its smallest sensible configuration for a 32 px test (built once)."""
    model = _build(name).train()
    model.zero_grad(set_to_none=True)
    return model


def inputs(model: Backbone) -> torch.Tensor:
    """What the backbone reads, as its modality makes it (images; text: non-special ids)."""
    return modality_of(model).tiny_input(model, BATCH, SIZE, torch.Generator().manual_seed(1))


def input_layer(model: Backbone) -> nn.Module:
    """The first layer that touches the input: the first module with its own weight (a conv
    for images, the embedding for text)."""
    return next(m for m in model.modules() if isinstance(getattr(m, "weight", None), nn.Parameter))


def test_registry_lists_all_vision_backbones() -> None:
    expected = {"resnet18", "resnet34", "resnet50", "resnet_small", "resnet_tiny"}
    expected |= {"vit_tiny", "vit_small", "vit_base"}
    assert expected <= set(list_backbones())


@pytest.mark.parametrize("name", list_backbones())
def test_features_shape_finite_and_gradients_reach_input_layer(name: str) -> None:
    model = tiny(name)
    assert isinstance(model, Backbone)
    feats = model.forward_features(inputs(model))
    assert feats.shape == (BATCH, model.feature_dim)
    assert torch.isfinite(feats).all()
    # A random readout so no gradient can cancel by symmetry.
    readout = torch.randn(model.feature_dim, generator=torch.Generator().manual_seed(2))
    (feats @ readout).sum().backward()
    first_layer = input_layer(model)
    assert first_layer.weight.grad is not None
    assert first_layer.weight.grad.abs().sum() > 0
    missing = [
        n
        for n, p in model.named_parameters()
        if p.requires_grad and (p.grad is None or p.grad.abs().sum() == 0)
    ]
    assert missing == []


@pytest.mark.parametrize("name", list_backbones())
def test_tokens_shape_for_token_models(name: str) -> None:
    model = tiny(name)
    x = inputs(model)
    if not model.has_tokens:
        with pytest.raises(TypeError):
            model.forward_tokens(x)
        return
    tokens = model.forward_tokens(x)
    count = x.shape[1]  # text: one token per id
    if isinstance(model, ViTBackbone):  # prefix tokens + one per patch
        h, w = model.patch_grid
        count = model.num_prefix_tokens + h * w
    if isinstance(model, AudioBackbone):  # one token per frame or patch; padding marked
        valid = model.valid_tokens(x)
        assert valid.shape == (BATCH, tokens.shape[1]) and valid.any(dim=1).all()
        count = valid.shape[1]
    assert tokens.shape == (BATCH, count, model.feature_dim)


@pytest.mark.parametrize("name", list_backbones())
def test_channels_last_matches_contiguous(name: str) -> None:
    model = tiny(name).eval()
    x = inputs(model)
    if x.ndim != 4:
        pytest.skip("memory formats are a matter of 4-d (image) batches")
    with torch.no_grad():
        ref = model(x)
        model.to(memory_format=torch.channels_last)
        try:
            out = model(x.contiguous(memory_format=torch.channels_last))
        finally:
            model.to(memory_format=torch.contiguous_format)
    # Kernels differ by layout, so compare at float32 rounding relative to the output's scale.
    scale = ref.abs().max().item()
    torch.testing.assert_close(out, ref, rtol=1e-4, atol=1e-5 * scale)


def test_unknown_name_names_the_closest() -> None:
    with pytest.raises(ConfigError, match="resnet18"):
        create_backbone("resnet81")

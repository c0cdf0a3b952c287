"""Barlow Twins / VICReg projectors: layer order, biases, sizes and parameter count."""

from __future__ import annotations

import pytest
import torch
from torch import nn

from selfsup.nn.projectors import BarlowTwinsProjectionHead, VICRegProjectionHead


@pytest.mark.parametrize("head_cls", [BarlowTwinsProjectionHead, VICRegProjectionHead])
def test_three_layer_projector_layers_and_parameter_count(head_cls: type[nn.Module]) -> None:
    head = head_cls(in_dim=16, hidden_dim=32, out_dim=24)
    kinds = [type(m) for m in head.layers]
    assert kinds == [
        *(nn.Linear, nn.BatchNorm1d, nn.ReLU),
        *(nn.Linear, nn.BatchNorm1d, nn.ReLU),
        nn.Linear,
    ]
    linears = [m for m in head.layers if isinstance(m, nn.Linear)]
    assert all(m.bias is None for m in linears)  # BN follows the first two; the last has none
    # 16*32 + 2*32 (BN) + 32*32 + 2*32 (BN) + 32*24
    assert sum(p.numel() for p in head.parameters()) == 16 * 32 + 64 + 32 * 32 + 64 + 32 * 24
    assert head(torch.randn(5, 16)).shape == (5, 24)


def test_paper_sizes_are_the_defaults() -> None:
    head = BarlowTwinsProjectionHead(in_dim=2048)
    assert [s.out_dim for s in head.specs] == [8192, 8192, 8192]

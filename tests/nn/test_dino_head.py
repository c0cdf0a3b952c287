"""DINO head: shapes, unit-norm prototypes, frozen gain, last-layer freeze, token inputs."""

from __future__ import annotations

import pytest
import torch
import torch.nn.functional as F

from selfsup.nn.dino_head import DINOHead


def test_forward_matches_manual_mlp_normalise_linear() -> None:
    torch.manual_seed(0)
    head = DINOHead(8, out_dim=10, hidden_dim=12, bottleneck_dim=5, num_layers=3)
    x = torch.randn(4, 8)
    z = F.normalize(head.mlp(x), dim=1)
    v = head.last_layer.parametrizations.weight.original1
    expected = z @ F.normalize(v, dim=1).T  # gain 1: each prototype row has unit norm
    torch.testing.assert_close(head(x), expected)
    linears = [m for m in head.mlp.modules() if isinstance(m, torch.nn.Linear)]
    assert [m.out_features for m in linears] == [12, 12, 5]


def test_gain_frozen_and_freeze_last_layer_gives_no_grad() -> None:
    head = DINOHead(8, out_dim=10, hidden_dim=12, bottleneck_dim=5)
    gain = head.last_layer.parametrizations.weight.original0
    v = head.last_layer.parametrizations.weight.original1
    assert not gain.requires_grad and torch.all(gain == 1)
    head(torch.randn(4, 8), freeze_last_layer=True).sum().backward()
    assert v.grad is None and head.mlp.layers[0].weight.grad is not None
    head(torch.randn(4, 8)).square().sum().backward()
    assert v.grad is not None and v.grad.abs().sum() > 0


def test_token_input_equals_flattened_rows_and_bad_sizes() -> None:
    head = DINOHead(8, out_dim=6, hidden_dim=12, bottleneck_dim=5, num_layers=1)
    x = torch.randn(2, 3, 8)
    torch.testing.assert_close(head(x), head(x.reshape(6, 8)).reshape(2, 3, 6))
    with pytest.raises(ValueError, match="num_layers"):
        DINOHead(8, num_layers=0)

"""MLP heads: shapes, which layers each spec builds, and SimCLR's parameter count."""

from __future__ import annotations

import pytest
import torch
from torch import nn

from selfsup.nn import LayerSpec, MLPHead, SimCLRProjectionHead


def test_simclr_head_layers_shapes_and_parameter_count() -> None:
    head = SimCLRProjectionHead(in_dim=512, hidden_dim=2048, out_dim=128)
    kinds = [type(m) for m in head.layers]
    assert kinds == [nn.Linear, nn.BatchNorm1d, nn.ReLU, nn.Linear]
    first, _, _, last = head.layers
    assert first.bias is None and last.bias is not None
    # 512*2048 (no bias before BN) + 2*2048 (BN scale, shift) + 2048*128 + 128
    expected = 512 * 2048 + 2 * 2048 + 2048 * 128 + 128
    assert sum(p.numel() for p in head.parameters()) == expected
    assert head(torch.randn(4, 512)).shape == (4, 128)
    assert (head.in_dim, head.out_dim) == (512, 128)


def test_simclr_head_without_batch_norm_keeps_first_bias() -> None:
    head = SimCLRProjectionHead(in_dim=8, hidden_dim=16, out_dim=4, batch_norm=False)
    assert [type(m) for m in head.layers] == [nn.Linear, nn.ReLU, nn.Linear]
    assert sum(p.numel() for p in head.parameters()) == 8 * 16 + 16 + 16 * 4 + 4


def test_mlp_head_follows_specs() -> None:
    head = MLPHead(
        [
            LayerSpec(6, 10, batch_norm=True, activation="gelu"),
            LayerSpec(10, 10, activation="relu", bias=False),
            LayerSpec(10, 3, batch_norm=True, bn_affine=False),  # SimSiam-style last BN
        ]
    )
    kinds = [type(m) for m in head.layers]
    assert kinds == [
        nn.Linear, nn.BatchNorm1d, nn.GELU, nn.Linear, nn.ReLU, nn.Linear, nn.BatchNorm1d
    ]  # fmt: skip
    linears = [m for m in head.layers if isinstance(m, nn.Linear)]
    assert [lin.bias is None for lin in linears] == [True, True, True]
    last_bn = head.layers[-1]
    assert isinstance(last_bn, nn.BatchNorm1d) and last_bn.weight is None
    torch.manual_seed(0)
    x = torch.randn(5, 6)
    out = head(x)
    assert out.shape == (5, 3)
    # A BN without affine in training mode only standardises each feature over the batch.
    h = head.layers[:-1](x)
    expected = (h - h.mean(0)) / torch.sqrt(h.var(0, unbiased=False) + last_bn.eps)
    torch.testing.assert_close(out, expected, atol=1e-5, rtol=1e-5)


def test_mlp_head_matches_hand_built_sequential() -> None:
    torch.manual_seed(0)
    head = MLPHead([LayerSpec(4, 7, activation="relu"), LayerSpec(7, 2)])
    x = torch.randn(3, 4)
    first, _, last = head.layers
    assert isinstance(first, nn.Linear) and isinstance(last, nn.Linear)
    expected = torch.relu(x @ first.weight.T + first.bias) @ last.weight.T + last.bias
    torch.testing.assert_close(head(x), expected)


def test_explicit_bias_overrides_default() -> None:
    head = MLPHead([LayerSpec(4, 4, batch_norm=True, bias=True)])
    assert head.layers[0].bias is not None


@pytest.mark.parametrize(
    ("specs", "match"),
    [
        ([], "at least one"),
        ([LayerSpec(4, 8), LayerSpec(7, 2)], "layer 0 outputs 8 features but layer 1 expects 7"),
    ],
)
def test_bad_head_specs_raise(specs: list[LayerSpec], match: str) -> None:
    with pytest.raises(ValueError, match=match):
        MLPHead(specs)


def test_bad_layer_spec_raises() -> None:
    with pytest.raises(ValueError, match="dims must be >= 1"):
        LayerSpec(0, 4)
    with pytest.raises(ValueError, match="activation must be one of"):
        LayerSpec(4, 4, activation="tanh")  # type: ignore[arg-type]

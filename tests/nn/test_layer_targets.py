"""data2vec targets equal a manual per-sample, per-channel normalised top-K average."""

from __future__ import annotations

import pytest
import torch

from selfsup.nn.layer_targets import instance_norm_tokens, layer_targets


def _manual_norm(x: torch.Tensor) -> torch.Tensor:
    out = torch.empty_like(x)
    for b in range(x.shape[0]):
        for d in range(x.shape[2]):
            col = x[b, :, d]
            out[b, :, d] = (col - col.mean()) / torch.sqrt(col.var(unbiased=False) + 1e-5)
    return out


def test_layer_targets_equal_manual_top_k_average() -> None:
    torch.manual_seed(0)
    layers = [torch.randn(2, 5, 3) * (i + 1) + i for i in range(4)]
    expected = sum(_manual_norm(t) for t in layers[-2:]) / 2
    torch.testing.assert_close(layer_targets(layers, top_k=2), expected)
    assert not torch.allclose(layer_targets(layers, top_k=3), expected)


def test_valid_mask_ignores_padding_and_zeroes_it() -> None:
    torch.manual_seed(0)
    x = torch.randn(2, 6, 3)
    valid = torch.tensor([[True] * 4 + [False] * 2, [True] * 6])
    out = instance_norm_tokens(x, valid)
    torch.testing.assert_close(out[0, :4], _manual_norm(x[:1, :4])[0])
    torch.testing.assert_close(out[1], _manual_norm(x[1:])[0])
    assert torch.all(out[0, 4:] == 0)


def test_bad_arguments() -> None:
    with pytest.raises(ValueError, match="top_k"):
        layer_targets([torch.zeros(1, 2, 3)], top_k=2)
    with pytest.raises(ValueError, match="shape"):
        layer_targets([torch.zeros(1, 2, 3), torch.zeros(1, 3, 3)], top_k=1)

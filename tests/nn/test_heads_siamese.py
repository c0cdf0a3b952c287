"""BYOL, SimSiam and MoCo heads: layer order, BN affine/bias choices and parameter counts."""

from __future__ import annotations

import pytest
import torch
from torch import nn

from selfsup.nn.heads import (
    BYOLPredictionHead,
    BYOLProjectionHead,
    MoCoProjectionHead,
    SimSiamPredictionHead,
    SimSiamProjectionHead,
)


def _count(m: nn.Module) -> int:
    return sum(p.numel() for p in m.parameters())


def test_byol_heads_paper_sizes() -> None:
    proj = BYOLProjectionHead(512)
    assert [type(m) for m in proj.layers] == [nn.Linear, nn.BatchNorm1d, nn.ReLU, nn.Linear]
    assert _count(proj) == 512 * 4096 + 2 * 4096 + 4096 * 256 + 256
    pred = BYOLPredictionHead()
    assert (pred.in_dim, pred.out_dim) == (256, 256)
    assert _count(pred) == 256 * 4096 + 2 * 4096 + 4096 * 256 + 256
    assert pred(proj(torch.randn(3, 512))).shape == (3, 256)


@pytest.mark.parametrize("layers", [2, 3])
def test_simsiam_projector_ends_in_bn_without_affine(layers: int) -> None:
    proj = SimSiamProjectionHead(64, hidden_dim=32, out_dim=16, num_layers=layers)
    linears = [m for m in proj.layers if isinstance(m, nn.Linear)]
    bns = [m for m in proj.layers if isinstance(m, nn.BatchNorm1d)]
    assert len(linears) == len(bns) == layers
    assert all(lin.bias is None for lin in linears)
    assert isinstance(proj.layers[-1], nn.BatchNorm1d) and proj.layers[-1].weight is None
    assert sum(isinstance(m, nn.ReLU) for m in proj.layers) == layers - 1
    hidden = (layers - 2) * (32 * 32 + 2 * 32)
    assert _count(proj) == 64 * 32 + 2 * 32 + hidden + 32 * 16
    with pytest.raises(ValueError, match="num_layers"):
        SimSiamProjectionHead(8, num_layers=4)


def test_simsiam_predictor_is_a_bottleneck() -> None:
    pred = SimSiamPredictionHead()
    first, _, _, last = pred.layers
    assert (first.in_features, first.out_features, last.out_features) == (2048, 512, 2048)
    assert last.bias is not None
    assert _count(pred) == 2048 * 512 + 2 * 512 + 512 * 2048 + 2048


def test_moco_head_has_no_batch_norm() -> None:
    head = MoCoProjectionHead(512)
    assert [type(m) for m in head.layers] == [nn.Linear, nn.ReLU, nn.Linear]
    assert _count(head) == 512 * 2048 + 2048 + 2048 * 128 + 128

"""Barlow Twins and VICReg: a few CPU training steps, registry names and what they return."""

from __future__ import annotations

import torch

from method_helpers import random_batch, train_steps
from selfsup.augment import create_augment
from selfsup.backbones import create_backbone
from selfsup.methods import create_method


def train_five_steps(name: str, **kwargs: float) -> tuple[torch.nn.Module, dict, dict]:
    torch.manual_seed(0)
    method = create_method(
        name,
        backbone=create_backbone("resnet_tiny"),
        augment=create_augment("simclr", size=16),
        proj_hidden_dim=64,
        proj_out_dim=32,
        **kwargs,
    )
    before = {k: v.detach().clone() for k, v in method.state_dict().items()}
    opt = torch.optim.SGD(method.parameters(), lr=0.05, momentum=0.9)
    out = train_steps(method, random_batch(), opt)
    return method, before, out


def test_vicreg_reports_its_terms_and_their_weighted_sum_is_the_loss() -> None:
    _, _, out = train_five_steps("vicreg", sim_weight=2.0, var_weight=3.0, cov_weight=0.5)
    expected = 2.0 * out["invariance"] + 3.0 * out["variance"] + 0.5 * out["covariance"]
    torch.testing.assert_close(out["loss"].detach(), expected)
    assert not out["variance"].requires_grad


def test_barlow_twins_lambda_reaches_the_loss() -> None:
    method = create_method(
        "barlow_twins",
        backbone=create_backbone("resnet_tiny"),
        augment=create_augment("simclr", size=16),
        lambda_offdiag=0.02,
        proj_hidden_dim=16,
        proj_out_dim=8,
    )
    assert method.loss.lambda_offdiag == 0.02
    assert method.head.out_dim == 8

"""Schedules, LR scaling, parameter groups and LARS against closed forms."""

from __future__ import annotations

import itertools
import math

import pytest
import torch
from torch import nn

from selfsup.config.schema import OptimConfig
from selfsup.engine.optim import LARS, build_optimizer, param_groups, scaled_lr
from selfsup.engine.precision import resolve_precision
from selfsup.schedules import warmup_cosine


def test_warmup_cosine_shape() -> None:
    total, warm = 100, 10
    values = [warmup_cosine(s, total, warm) for s in range(total + 1)]
    assert values[0] == pytest.approx(0.1)
    assert values[9] == pytest.approx(1.0)
    assert values[10] == pytest.approx(1.0)
    assert values[55] == pytest.approx(0.5 * (1 + math.cos(math.pi * 45 / 90)))
    assert values[100] == pytest.approx(0.0)
    assert all(a >= b for a, b in itertools.pairwise(values[10:]))
    assert warmup_cosine(100, 100, 0, final_ratio=0.2) == pytest.approx(0.2)


def test_linear_scaling_rule() -> None:
    assert scaled_lr(0.3, 512) == pytest.approx(0.6)
    assert scaled_lr(1.0, 64) == pytest.approx(0.25)


def test_bias_and_norm_excluded_from_decay() -> None:
    model = nn.Sequential(nn.Conv2d(3, 4, 3), nn.BatchNorm2d(4), nn.Flatten(), nn.LazyLinear(2))
    model(torch.zeros(1, 3, 5, 5))
    groups = param_groups(model, 0.1, exclude_bias_and_norm=True)
    assert [p.ndim for p in groups[0]["params"]] == [4, 2]
    assert groups[1]["weight_decay"] == 0.0 and groups[1]["lars_exclude"]
    assert len(groups[1]["params"]) == 4  # conv bias, bn weight, bn bias, linear bias


def test_lars_step_matches_closed_form() -> None:
    torch.manual_seed(0)
    w = nn.Parameter(torch.randn(5, 3))
    b = nn.Parameter(torch.randn(5))
    w.grad, b.grad = torch.randn(5, 3), torch.randn(5)
    w0, b0, gw, gb = w.detach().clone(), b.detach().clone(), w.grad.clone(), b.grad.clone()
    opt = LARS(
        [
            {"params": [w], "weight_decay": 0.01},
            {"params": [b], "weight_decay": 0.0, "lars_exclude": True},
        ],
        lr=0.5,
        momentum=0.9,
        trust_coefficient=0.02,
    )
    opt.step()
    d = gw + 0.01 * w0
    trust = 0.02 * w0.norm() / d.norm()
    torch.testing.assert_close(w.detach(), w0 - 0.5 * trust * d)
    torch.testing.assert_close(b.detach(), b0 - 0.5 * gb)  # excluded: plain SGD, no trust ratio


@pytest.mark.parametrize("name", ["sgd", "adamw", "lars"])
def test_build_optimizer(name: str) -> None:
    model = nn.Linear(3, 2)
    opt = build_optimizer(model, OptimConfig(name=name), lr=0.1)  # type: ignore[arg-type]
    assert opt.param_groups[0]["lr"] == 0.1
    assert opt.param_groups[1]["weight_decay"] == 0.0


def test_precision_auto_is_fp32_on_cpu() -> None:
    assert resolve_precision("auto", "cpu") == "32-true"
    assert resolve_precision("bf16-mixed", "cpu") == "bf16-mixed"
    with pytest.raises(ValueError, match="unknown precision"):
        resolve_precision("fp8", "cpu")

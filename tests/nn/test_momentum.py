"""EMA teachers: closed-form averages, frozen copies, buffers, and the cosine momentum schedule."""

from __future__ import annotations

import math

import pytest
import torch
from torch import nn

from selfsup.nn.momentum import copy_as_teacher, update_momentum
from selfsup.schedules import cosine_momentum


def _net() -> nn.Module:
    return nn.Sequential(nn.Linear(3, 4), nn.BatchNorm1d(4), nn.ReLU(), nn.Linear(4, 2))


def test_teacher_is_a_frozen_independent_copy() -> None:
    torch.manual_seed(0)
    student = _net()
    teacher = copy_as_teacher(student)
    assert all(not p.requires_grad for p in teacher.parameters())
    assert all(p.requires_grad for p in student.parameters())
    for s, t in zip(student.parameters(), teacher.parameters(), strict=True):
        assert torch.equal(s, t) and s.data_ptr() != t.data_ptr()
    student.train()
    assert teacher.training  # mode untouched: follows whoever owns it
    teacher.eval()
    assert student.training


def test_k_updates_equal_closed_form_weighted_average() -> None:
    torch.manual_seed(0)
    student = _net()
    teacher = copy_as_teacher(student)
    t0 = [p.detach().clone() for p in teacher.parameters()]
    momenta = [0.9, 0.5, 0.99, 0.0, 0.7]
    snapshots = []
    for m in momenta:
        with torch.no_grad():
            for p in student.parameters():
                p.add_(torch.randn_like(p))
        snapshots.append([p.detach().clone() for p in student.parameters()])
        update_momentum(student, teacher, m)
    # teacher_K = prod(m) t0 + sum_k (1 - m_k) prod_{j>k} m_j s_k
    for i, t in enumerate(teacher.parameters()):
        expected = math.prod(momenta) * t0[i]
        for k, m in enumerate(momenta):
            expected = expected + (1 - m) * math.prod(momenta[k + 1 :]) * snapshots[k][i]
        torch.testing.assert_close(t, expected)


def test_buffers_float_averaged_integer_copied() -> None:
    student, teacher = _net(), _net()
    s_bn, t_bn = student[1], teacher[1]
    s_bn.running_mean.fill_(2.0)
    t_bn.running_mean.fill_(1.0)
    s_bn.num_batches_tracked.fill_(7)
    update_momentum(student, teacher, 0.75)
    torch.testing.assert_close(t_bn.running_mean, torch.full((4,), 0.75 * 1.0 + 0.25 * 2.0))
    assert int(t_bn.num_batches_tracked) == 7


def test_teacher_gets_no_gradients() -> None:
    torch.manual_seed(0)
    student = _net()
    teacher = copy_as_teacher(student)
    x = torch.randn(6, 3)
    loss = (student(x) * teacher(x)).sum()
    loss.backward()
    assert all(p.grad is None for p in teacher.parameters())
    assert any(p.grad is not None and p.grad.abs().sum() > 0 for p in student.parameters())
    update_momentum(student, teacher, 0.5)  # must not be recorded by autograd
    assert all(not p.requires_grad and p.grad_fn is None for p in teacher.parameters())


def test_mismatched_modules_and_bad_momentum_raise() -> None:
    with pytest.raises(ValueError, match=r"m in \[0, 1\]"):
        update_momentum(_net(), _net(), 1.5)
    with pytest.raises(ValueError, match="differ in parameter"):
        update_momentum(_net(), nn.Linear(3, 4), 0.9)
    with pytest.raises(ValueError, match="shape"):
        update_momentum(nn.Linear(3, 4), nn.Linear(3, 5), 0.9)


def test_cosine_momentum_matches_formula() -> None:
    total, base = 50, 0.996
    for step in (0, 10, 25, 40, 50, 80):
        progress = min(step, total) / total
        expected = 1 - (1 - base) * (math.cos(math.pi * progress) + 1) / 2
        assert cosine_momentum(step, total, base) == pytest.approx(expected)
    assert cosine_momentum(0, total, base) == pytest.approx(0.996)
    assert cosine_momentum(25, total, base) == pytest.approx(0.998)
    assert cosine_momentum(50, total, base) == pytest.approx(1.0)
    assert cosine_momentum(25, total, 0.9, final=0.95) == pytest.approx(0.925)
    with pytest.raises(ValueError, match="total_steps"):
        cosine_momentum(0, 0, base)

"""DINO loss, centring closed form, teacher-temperature schedule and collapse statistics."""

from __future__ import annotations

import math

import pytest
import torch

from selfsup.losses.dino import DINOLoss, collapse_kind, teacher_stats
from selfsup.nn.centering import TeacherCentering
from selfsup.schedules import teacher_temperature


def test_loss_is_mean_over_pairs_of_different_views() -> None:
    torch.manual_seed(0)
    student = [torch.randn(4, 6) for _ in range(4)]
    teacher = [torch.softmax(torch.randn(4, 6), dim=1) for _ in range(2)]
    terms = []
    for i in range(2):
        for j in range(4):
            if i != j:
                for b in range(4):
                    log_p = torch.log_softmax(student[j][b] / 0.1, dim=0)
                    terms.append(-(teacher[i][b] * log_p).sum())
    torch.testing.assert_close(DINOLoss(0.1)(student, teacher), torch.stack(terms).mean())
    with pytest.raises(ValueError, match="views"):
        DINOLoss()(student[:1], teacher[:1])


def test_centering_targets_and_ema_update_closed_form() -> None:
    torch.manual_seed(0)
    c = TeacherCentering(5, "ema", momentum=0.9)
    c.center.copy_(torch.randn(5))
    old = c.center.clone()
    logits = torch.randn(6, 5)
    targets = c(logits, 0.04)
    torch.testing.assert_close(targets, torch.softmax((logits - old) / 0.04, dim=1))
    torch.testing.assert_close(c.center, 0.9 * old + 0.1 * logits.mean(dim=0))
    c.eval()
    c(logits, 0.04)  # no update outside training
    torch.testing.assert_close(c.center, 0.9 * old + 0.1 * logits.mean(dim=0))


def test_sinkhorn_and_none_modes() -> None:
    torch.manual_seed(0)
    logits = torch.rand(40, 4) * 2 - 1  # cosine logits, as the DINO head gives
    uniform_use = TeacherCentering(4, "sinkhorn", sinkhorn_iterations=50)(logits, 0.1)
    torch.testing.assert_close(uniform_use.sum(dim=0), torch.full((4,), 10.0), atol=1e-3, rtol=0)
    plain = TeacherCentering(4, "none")(logits, 0.1)
    torch.testing.assert_close(plain, torch.softmax(logits / 0.1, dim=1))
    with pytest.raises(ValueError, match="centering"):
        TeacherCentering(4, "mean")  # type: ignore[arg-type]


def test_teacher_temperature_schedule_values() -> None:
    values = [teacher_temperature(s, 10, 0.04, 0.07) for s in (0, 5, 10, 50)]
    assert values == pytest.approx([0.04, 0.055, 0.07, 0.07])
    assert teacher_temperature(3, 0, 0.04, 0.07) == pytest.approx(0.07)


def test_teacher_stats_and_collapse_kinds() -> None:
    k = 8
    healthy = torch.eye(k).repeat(2, 1) * 0.9 + 0.1 / k  # each sample its own prototype
    one_hot = torch.zeros(16, k)
    one_hot[:, 3] = 1.0
    uniform = torch.full((16, k), 1.0 / k)
    s = teacher_stats(healthy)
    row = -(healthy[0] * healthy[0].log()).sum()
    torch.testing.assert_close(s["teacher_entropy"], row)
    torch.testing.assert_close(s["teacher_mean_entropy"], torch.tensor(math.log(k)))
    assert collapse_kind(s, k) == "none"
    assert collapse_kind(teacher_stats(one_hot), k) == "one-prototype"
    assert collapse_kind(teacher_stats(uniform), k) == "uniform"

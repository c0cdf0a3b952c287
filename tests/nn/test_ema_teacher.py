"""EMATeacher: argument checks, schedules, shared students, exact updates, a saved step count."""

from __future__ import annotations

import math

import pytest
import torch
from torch import nn

from selfsup.nn.ema_teacher import EMATeacher
from selfsup.nn.step_counter import StepCounter, upgrade_counter_keys


def _pair() -> tuple[nn.Module, EMATeacher, nn.Module]:
    torch.manual_seed(0)
    student = nn.Sequential(nn.Linear(3, 4), nn.BatchNorm1d(4))
    ema = EMATeacher("cosine", 0.9, 1.0)
    return student, ema, ema.track(student)


@pytest.mark.parametrize(
    ("args", "match"),
    [
        (("constant", 1.5), "momentum must be in"),
        (("cosine", 0.99, 0.9), "momentum_base <= momentum_final"),
        (("linear", -0.1, 0.5), "momentum_base <= momentum_final"),
        (("step", 0.9), "constant, cosine or linear"),
    ],
)
def test_bad_momentum_is_a_value_error(args: tuple[object, ...], match: str) -> None:
    with pytest.raises(ValueError, match=match):
        EMATeacher(*args)  # type: ignore[arg-type]


def test_schedules() -> None:
    assert EMATeacher("constant", 0.99).momentum_at(7, 10) == 0.99
    cosine = EMATeacher("cosine", 0.9, 1.0)
    assert cosine.momentum_at(3, 10) == pytest.approx(1 - 0.1 * (math.cos(math.pi * 0.3) + 1) / 2)
    assert cosine.momentum_at(10, 10) == 1.0
    linear = EMATeacher("linear", 0.5, 0.9, anneal_steps=4)
    assert [linear.momentum_at(s, 100) for s in (0, 2, 9)] == pytest.approx([0.5, 0.7, 0.9])


def test_step_moves_teacher_with_this_steps_momentum_and_counts() -> None:
    student, ema, teacher = _pair()
    assert all(not p.requires_grad for p in teacher.parameters())
    with torch.no_grad():
        for p in student.parameters():
            p.add_(1.0)
    before = [p.clone() for p in teacher.parameters()]
    m = ema.step(3, 10)
    assert m == ema.momentum == pytest.approx(1 - 0.1 * (math.cos(math.pi * 0.3) + 1) / 2)
    for t, t0, s in zip(teacher.parameters(), before, student.parameters(), strict=True):
        torch.testing.assert_close(t, m * t0 + (1 - m) * s)
    assert ema.count() == 3


def test_a_student_tracked_twice_has_one_teacher() -> None:
    student, ema, teacher = _pair()
    assert ema.track(student) is teacher and len(ema.pairs) == 1


def test_only_the_count_is_saved_and_it_reloads() -> None:
    _, ema, _ = _pair()
    ema.step(5, 10)
    assert list(ema.state_dict()) == ["steps_done"]
    fresh = EMATeacher("cosine", 0.9, 1.0)
    fresh.load_state_dict(ema.state_dict())
    assert fresh.count() == 5


def test_old_checkpoints_get_a_counter_key() -> None:
    class Owner(nn.Module):
        def __init__(self) -> None:
            super().__init__()
            self.ema = StepCounter()

    legacy = {"m.steps_done": torch.tensor(7)}  # DINO and SwAV kept it on the method
    upgrade_counter_keys(Owner(), legacy, "m.")
    assert list(legacy) == ["m.ema.steps_done"] and int(legacy["m.ema.steps_done"]) == 7
    none: dict[str, torch.Tensor] = {}  # the other teachers had no counter
    upgrade_counter_keys(Owner(), none, "")
    assert int(none["ema.steps_done"]) == 0

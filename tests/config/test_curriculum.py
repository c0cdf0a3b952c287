"""Schedules declared next to a config value: closed forms, rounding and one-line errors."""

from __future__ import annotations

import math

import pytest

from run_helpers import tiny_digits_simclr
from selfsup.config.curriculum import at_start, parse_schedule, scheduled_keys, value_of
from selfsup.config.load import load_config
from selfsup.registry import ConfigError


def value(spec: dict, progress: float) -> float:
    return parse_schedule("method.x", spec).value_at(progress)


@pytest.mark.parametrize("k", [0, 1, 7, 10])
def test_each_kind_equals_its_closed_form_at_step_k(k: int) -> None:
    p = k / 10
    assert value({"schedule": "constant", "value": 0.3}, p) == 0.3
    assert value({"schedule": "linear", "start": 0.5, "end": 0.75}, p) == pytest.approx(
        0.5 + 0.25 * p
    )
    cosine = 0.2 + (0.9 - 0.2) * 0.5 * (1 - math.cos(math.pi * p))
    assert value({"schedule": "cosine", "start": 0.2, "end": 0.9}, p) == pytest.approx(cosine)
    steps = {"schedule": "step", "values": [1.0, 2.0, 3.0], "at": [0.3, 0.6]}
    assert value(steps, p) == (1.0 if p < 0.3 else 2.0 if p < 0.6 else 3.0)
    points = {"schedule": "piecewise", "points": [[0.2, 1.0], [0.5, 4.0], [1.0, 0.0]]}
    expected = 1.0 if p <= 0.2 else 1 + 3 * (p - 0.2) / 0.3 if p <= 0.5 else 4 - 8 * (p - 0.5)
    assert value(points, p) == pytest.approx(expected)


def test_a_window_holds_the_ends_outside_it() -> None:
    spec = {"schedule": "linear", "start": 0.0, "end": 1.0, "over": [0.25, 0.75]}
    assert [value(spec, p) for p in (0.0, 0.25, 0.5, 0.75, 1.0)] == [0.0, 0.0, 0.5, 1.0, 1.0]


def test_integer_schedules_round_and_stay_ints() -> None:
    cfg = load_config(
        None, [*tiny_digits_simclr(), "augment.size={schedule: linear, start: 8, end: 16}"]
    )
    (item,) = scheduled_keys(cfg)
    assert item.schedule.integer
    assert [value_of(item, p) for p in (0.0, 0.3, 1.0)] == [8, 10, 16]
    assert isinstance(value_of(item, 0.3), int)
    assert at_start(cfg).augment.args["size"] == 8
    assert cfg.augment.args["size"]["schedule"] == "linear"  # the saved config keeps it


@pytest.mark.parametrize(
    ("spec", "message"),
    [
        ("{schedule: linaer, start: 0, end: 1}", "did you mean 'linear'"),
        ("{schedule: linear, start: 0}", "needs end"),
        ("{schedule: linear, start: 0, end: 1, stop: 2}", "has no key 'stop'"),
        ("{schedule: linear, start: a, end: 1}", "must be numbers"),
        ("{schedule: step, values: [1, 2], at: [0.2, 0.4]}", "one value more"),
        ("{schedule: step, values: [1, 2, 3], at: [0.4, 0.2]}", "must increase"),
        ("{schedule: piecewise, points: [[0.5, 1]]}", r"2\+ \[progress, value\] points"),
        ("{schedule: linear, start: 0, end: 1, over: [0.8, 0.2]}", "0 <= a < b <= 1"),
    ],
)
def test_a_bad_schedule_is_one_config_line(spec: str, message: str) -> None:
    with pytest.raises(ConfigError, match=message) as err:
        load_config(None, [*tiny_digits_simclr(), f"method.temperature={spec}"])
    assert "\n" not in str(err.value) and "method.temperature" in str(err.value)

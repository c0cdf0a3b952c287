"""Curricula in a run config: a method or view key written as a schedule instead of a number.

::

    method:
      name: mae
      mask_ratio: {schedule: linear, start: 0.5, end: 0.75}
    augment:
      name: simclr
      size: {schedule: step, values: [16, 24, 32], at: [0.3, 0.6]}

The value follows the same progress clock as the learning rate (steps, or the time budget), so
budgets and exact resume keep working. Objects are built with each schedule's value at
progress 0; the engine sets the current value before every step.
"""

from __future__ import annotations

import copy
import dataclasses
from collections.abc import Mapping
from typing import Any

from selfsup.config.schema import RunConfig
from selfsup.registry import ConfigError, closest
from selfsup.schedules import VALUE_SCHEDULE_KINDS, ValueSchedule

SCHEDULABLE_SECTIONS = ("method", "augment")
"""Sections whose keys may follow a schedule (the data and engine keep theirs fixed)."""

# The keys each kind takes besides ``schedule`` (``integer`` is allowed with every kind).
_KEYS = {
    "constant": ("value",),
    "linear": ("start", "end", "over"),
    "cosine": ("start", "end", "over"),
    "step": ("values", "at"),
    "piecewise": ("points",),
}
_REQUIRED = {"constant": ("value",), "linear": ("start", "end"), "cosine": ("start", "end")}


@dataclasses.dataclass(frozen=True)
class ScheduledKey:
    """One scheduled config key: ``section`` (method / augment), ``key`` and its schedule."""

    section: str
    key: str
    schedule: ValueSchedule

    @property
    def name(self) -> str:
        """``section.key``, as logged (``curriculum/method.mask_ratio``) and in errors."""
        return f"{self.section}.{self.key}"


def is_schedule(value: Any) -> bool:
    """Whether a config value is a schedule mapping (has a ``schedule`` key)."""
    return isinstance(value, Mapping) and "schedule" in value


def parse_schedule(where: str, spec: Mapping[str, Any]) -> ValueSchedule:
    """The :class:`ValueSchedule` a mapping declares; a one-line ConfigError naming ``where``
    otherwise. Values are rounded when every number given is an int (or ``integer: true``)."""
    kind = spec.get("schedule")
    if kind not in VALUE_SCHEDULE_KINDS:
        hint = closest(str(kind), VALUE_SCHEDULE_KINDS) if isinstance(kind, str) else ""
        raise ConfigError(
            f"{where}: unknown schedule {kind!r}{hint} (one of {', '.join(VALUE_SCHEDULE_KINDS)})"
        )
    allowed = (*_KEYS[kind], "integer")
    for key in spec:
        if key != "schedule" and key not in allowed:
            raise ConfigError(
                f"{where}: a {kind} schedule has no key '{key}' (it takes {', '.join(allowed)})"
            )
    missing = [k for k in _REQUIRED.get(kind, _KEYS[kind]) if k not in spec]
    if missing:
        raise ConfigError(f"{where}: a {kind} schedule needs {', '.join(missing)}")
    numbers = _numbers(where, spec)
    integer = spec.get("integer", all(isinstance(n, int) for n in numbers))
    if not isinstance(integer, bool):
        raise ConfigError(f"{where}: integer must be true or false, got {integer!r}")
    try:
        return ValueSchedule(
            kind,
            value=float(spec.get("value", 0.0)),
            start=float(spec.get("start", 0.0)),
            end=float(spec.get("end", 0.0)),
            over=_pair(where, spec.get("over", (0.0, 1.0))),
            values=tuple(float(v) for v in spec.get("values", ())),
            at=tuple(float(a) for a in spec.get("at", ())),
            points=tuple(_pair(where, p) for p in spec.get("points", ())),
            integer=integer,
        )
    except ValueError as e:
        raise ConfigError(f"{where}: {e}") from None


def _numbers(where: str, spec: Mapping[str, Any]) -> list[int | float]:
    """The values a schedule takes (not its progress points), each checked to be a number."""
    found: list[Any] = [spec[k] for k in ("value", "start", "end") if k in spec]
    for key in ("values", "at", "points", "over"):
        if key in spec and not isinstance(spec[key], list | tuple):
            raise ConfigError(f"{where}: {key} must be a list, got {spec[key]!r}")
    found += list(spec.get("values", ()))
    for point in spec.get("points", ()):
        if not isinstance(point, list | tuple) or len(point) != 2:
            raise ConfigError(f"{where}: points must be [progress, value] pairs, got {point!r}")
        found.append(point[1])
    for n in found:
        if isinstance(n, bool) or not isinstance(n, int | float):
            raise ConfigError(f"{where}: schedule values must be numbers, got {n!r}")
    return found


def _pair(where: str, value: Any) -> tuple[float, float]:
    ok = isinstance(value, list | tuple) and len(value) == 2
    if not ok or any(isinstance(v, bool) or not isinstance(v, int | float) for v in value):
        raise ConfigError(f"{where}: expected two numbers, got {value!r}")
    return float(value[0]), float(value[1])


def scheduled_keys(cfg: RunConfig) -> list[ScheduledKey]:
    """Every scheduled key of ``cfg`` (parsed; a bad schedule is a ConfigError)."""
    found = []
    for section in SCHEDULABLE_SECTIONS:
        for key, value in getattr(cfg, section).args.items():
            if is_schedule(value):
                where = f"{section}.{key}"
                found.append(ScheduledKey(section, key, parse_schedule(where, value)))
    return found


def at_start(cfg: RunConfig) -> RunConfig:
    """A copy of ``cfg`` whose scheduled keys hold their value at progress 0 (what objects are
    built and validated with)."""
    out = copy.deepcopy(cfg)
    for item in scheduled_keys(cfg):
        getattr(out, item.section).args[item.key] = value_of(item, 0.0)
    return out


def value_of(item: ScheduledKey, progress: float) -> int | float:
    """``item``'s value at ``progress``, an int for integer schedules."""
    value = item.schedule.value_at(progress)
    return int(value) if item.schedule.integer else value


def schedule_range(schedule: ValueSchedule) -> tuple[float, float]:
    """The smallest and largest value ``schedule`` takes (every kind moves monotonically
    between the values it names, so these bound it)."""
    s = schedule
    named = {
        "constant": (s.value,),
        "linear": (s.start, s.end),
        "cosine": (s.start, s.end),
        "step": s.values,
        "piecewise": tuple(v for _, v in s.points),
    }[s.kind]
    lo, hi = min(named), max(named)
    return (round(lo), round(hi)) if s.integer else (lo, hi)

"""Every per-step schedule of the library, as plain functions of explicit numbers.

A leaf module (standard library only), so nn, losses, methods, engine and eval can all import
it without importing each other. Each schedule is a function of the step (or of progress in
[0, 1]) alone, so a resumed run repeats the uninterrupted one's values.
"""

from __future__ import annotations

import math


def warmup_cosine(
    step: int, total_steps: int, warmup_steps: int, final_ratio: float = 0.0
) -> float:
    """Multiplier for the base value at ``step``: linear warmup, then cosine to ``final_ratio``.

    The warmup ramps from 1/warmup_steps (never exactly 0, so step 0 still learns) to 1.
    """
    if total_steps <= 0:
        raise ValueError("total_steps must be > 0")
    if warmup_steps > 0 and step < warmup_steps:
        return (step + 1) / warmup_steps
    span = max(1, total_steps - warmup_steps)
    progress = min(1.0, (step - warmup_steps) / span)
    return final_ratio + (1.0 - final_ratio) * 0.5 * (1.0 + math.cos(math.pi * progress))


def warmup_cosine_progress(
    step: int, warmup_steps: int, progress: float, warmup_end: float, final_ratio: float = 0.0
) -> float:
    """LR multiplier: linear warmup over ``warmup_steps``, then a cosine over the remaining
    progress, from ``warmup_end`` (the progress at which warmup finished) to 1.

    With ``progress = step / total`` and ``warmup_end = warmup_steps / total`` this is the
    step-based :func:`warmup_cosine`.
    """
    if warmup_steps > 0 and step < warmup_steps:
        return (step + 1) / warmup_steps
    span = max(1e-12, 1.0 - warmup_end)
    p = min(1.0, max(0.0, (progress - warmup_end) / span))
    return final_ratio + (1.0 - final_ratio) * 0.5 * (1.0 + math.cos(math.pi * p))


def warmup_cosine_fraction(
    progress: float, warmup_end: float, final_ratio: float = 0.0, floor: float = 0.0
) -> float:
    """LR multiplier by progress alone: linear warmup over the first ``warmup_end`` of the run
    (never below ``floor``, so the first step still learns), then a cosine to ``final_ratio``.

    Time-budgeted runs use it: their warmup is a fraction of the same clock as the cosine, so
    a short budget still reaches the peak LR.
    """
    if progress < warmup_end:
        return max(floor, progress / warmup_end)
    span = max(1e-12, 1.0 - warmup_end)
    p = min(1.0, max(0.0, (progress - warmup_end) / span))
    return final_ratio + (1.0 - final_ratio) * 0.5 * (1.0 + math.cos(math.pi * p))


def cosine_ramp(progress: float, start: float, end: float) -> float:
    """Half a cosine from ``start`` (progress 0) to ``end`` (progress 1), e.g. DINO's weight
    decay 0.04 -> 0.4. A function of progress alone, so resumed runs repeat the schedule."""
    if not 0.0 <= progress <= 1.0:
        raise ValueError(f"progress must be in [0, 1], got {progress}")
    return end + (start - end) * 0.5 * (1.0 + math.cos(math.pi * progress))


def cosine_momentum(step: int, total_steps: int, base: float, final: float = 1.0) -> float:
    """Momentum rising from ``base`` at step 0 to ``final`` at ``total_steps`` on a half cosine.

    BYOL's schedule: ``final - (final - base) * (cos(pi * step / total_steps) + 1) / 2``
    (0.996 -> 1 in the paper). Steps past ``total_steps`` stay at ``final``.
    """
    if total_steps <= 0:
        raise ValueError(f"cosine_momentum needs total_steps > 0, got {total_steps}")
    progress = min(1.0, max(0.0, step / total_steps))
    return final - (final - base) * 0.5 * (1.0 + math.cos(math.pi * progress))


def linear_momentum(step: int, anneal_steps: int, base: float, final: float) -> float:
    """data2vec's teacher decay: linear from ``base`` to ``final`` over ``anneal_steps``, then
    ``final``."""
    if anneal_steps <= 0 or step >= anneal_steps:
        return float(final)
    return float(base + (final - base) * max(step, 0) / anneal_steps)


def teacher_temperature(
    step: int, warmup_steps: int, start: float = 0.04, end: float = 0.07
) -> float:
    """DINO's teacher temperature: linear from ``start`` to ``end`` over ``warmup_steps``, then
    ``end`` (paper: 0.04 -> 0.07 over 30 epochs; too hot a teacher early on makes training
    unstable)."""
    if warmup_steps < 0 or not (start > 0 and end > 0):
        raise ValueError(
            "teacher_temperature needs warmup_steps >= 0 and positive temperatures, got "
            f"{warmup_steps}, {start} and {end}"
        )
    if step >= warmup_steps:
        return float(end)
    return float(start + (end - start) * max(step, 0) / warmup_steps)


class ValueSchedule:
    """A hyper-parameter as a function of training progress in [0, 1] (a curriculum).

    ``kind`` is one of :data:`VALUE_SCHEDULE_KINDS`:

    - ``constant``: ``value`` throughout;
    - ``linear`` / ``cosine``: ``start`` -> ``end`` between the progress points ``over``
      (default ``(0, 1)``), held before and after;
    - ``step``: ``values[i]`` once progress has passed ``i`` of the increasing ``at`` points;
    - ``piecewise``: linear between ``(progress, value)`` ``points``, held outside them.

    ``integer`` rounds every value (crop counts, image sizes). A function of progress alone,
    so a resumed run repeats the uninterrupted one's values.
    """

    def __init__(
        self,
        kind: str,
        *,
        value: float = 0.0,
        start: float = 0.0,
        end: float = 0.0,
        over: tuple[float, float] = (0.0, 1.0),
        values: tuple[float, ...] = (),
        at: tuple[float, ...] = (),
        points: tuple[tuple[float, float], ...] = (),
        integer: bool = False,
    ) -> None:
        if kind not in VALUE_SCHEDULE_KINDS:
            raise ValueError(
                f"unknown schedule '{kind}' (one of {', '.join(VALUE_SCHEDULE_KINDS)})"
            )
        lo, hi = over
        if not 0.0 <= lo < hi <= 1.0:
            raise ValueError(f"over must be two progress points 0 <= a < b <= 1, got {list(over)}")
        if kind == "step" and (len(values) != len(at) + 1 or not at):
            raise ValueError(
                f"a step schedule needs one value more than 'at' points, "
                f"got {len(values)} and {len(at)}"
            )
        if kind == "step" and list(at) != sorted(set(at)):
            raise ValueError(f"'at' points must increase, got {list(at)}")
        if kind == "piecewise":
            xs = [p for p, _ in points]
            if len(points) < 2 or xs != sorted(set(xs)) or not 0.0 <= xs[0] <= xs[-1] <= 1.0:
                raise ValueError(
                    "piecewise needs 2+ [progress, value] points with increasing progress in [0, 1]"
                )
        self.kind = kind
        self.value, self.start, self.end, self.over = value, start, end, (lo, hi)
        self.values, self.at, self.points = tuple(values), tuple(at), tuple(points)
        self.integer = integer

    def value_at(self, progress: float) -> float:
        """The value at ``progress`` (clamped to [0, 1])."""
        p = min(1.0, max(0.0, float(progress)))
        out = self._raw(p)
        return float(round(out)) if self.integer else out

    def _raw(self, p: float) -> float:
        if self.kind == "constant":
            return self.value
        if self.kind in ("linear", "cosine"):
            lo, hi = self.over
            t = min(1.0, max(0.0, (p - lo) / (hi - lo)))
            if self.kind == "cosine":
                t = 0.5 * (1.0 - math.cos(math.pi * t))
            return self.start + (self.end - self.start) * t
        if self.kind == "step":
            return self.values[sum(p >= a for a in self.at)]
        (x0, y0), *rest = self.points
        if p <= x0:
            return y0
        for x1, y1 in rest:
            if p <= x1:
                return y0 + (y1 - y0) * (p - x0) / (x1 - x0)
            x0, y0 = x1, y1
        return y0


VALUE_SCHEDULE_KINDS = ("constant", "linear", "cosine", "step", "piecewise")


def exponential_decay(step: int, start: float, floor: float, factor: float) -> float:
    """``start * factor ** step``, never below ``floor`` (wav2vec 2.0's Gumbel temperature:
    2 -> 0.5 with factor 0.999995 per step)."""
    if not (start > 0 and floor > 0 and 0 < factor <= 1):
        raise ValueError(
            "exponential_decay needs start > 0, floor > 0 and factor in (0, 1], got "
            f"{start}, {floor} and {factor}"
        )
    return float(max(start * factor ** max(step, 0), floor))

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


def exponential_decay(step: int, start: float, floor: float, factor: float) -> float:
    """``start * factor ** step``, never below ``floor`` (wav2vec 2.0's Gumbel temperature:
    2 -> 0.5 with factor 0.999995 per step)."""
    if not (start > 0 and floor > 0 and 0 < factor <= 1):
        raise ValueError(
            "exponential_decay needs start > 0, floor > 0 and factor in (0, 1], got "
            f"{start}, {floor} and {factor}"
        )
    return float(max(start * factor ** max(step, 0), floor))

"""Per-step schedules computed from explicit numbers."""

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


def cosine_ramp(progress: float, start: float, end: float) -> float:
    """Half a cosine from ``start`` (progress 0) to ``end`` (progress 1), e.g. DINO's weight
    decay 0.04 -> 0.4. A function of progress alone, so resumed runs repeat the schedule."""
    if not 0.0 <= progress <= 1.0:
        raise ValueError(f"progress must be in [0, 1], got {progress}")
    return end + (start - end) * 0.5 * (1.0 + math.cos(math.pi * progress))

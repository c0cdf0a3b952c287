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

"""How far a run is: by optimizer steps, or by wall-clock when it has a time budget.

A run with ``train.max_minutes`` should spend its whole budget on one learning-rate cosine (and
one momentum schedule), not stop half-way down a schedule sized for ``max_epochs``. The clock
reports ``fraction(step) = max(step / total_steps, elapsed / budget)``: whichever budget runs
out first ends the schedule. Without a time budget it is exactly ``step / total_steps``, so
step-based runs are unchanged (and bit-for-bit reproducible; time-budgeted ones are not, since
the schedule follows the machine's speed).
"""

from __future__ import annotations

import math
import time
from collections.abc import Callable
from typing import Any


class ProgressClock:
    """Training progress in [0, 1]; elapsed time survives resumes via ``state_dict``.

    ``time_fn`` (seconds, monotonic) replaces the clock's source of time, e.g. a fake clock in
    tests; by default it is ``time.monotonic`` for ``clock="wall"`` and ``time.process_time``
    for ``clock="cpu"``.
    """

    def __init__(
        self,
        total_steps: int,
        max_seconds: float | None = None,
        clock: str = "wall",
        time_fn: Callable[[], float] | None = None,
    ) -> None:
        if total_steps <= 0:
            raise ValueError(f"total_steps must be > 0, got {total_steps}")
        if max_seconds is not None and max_seconds <= 0:
            raise ValueError(f"the time budget must be > 0 seconds, got {max_seconds}")
        if clock not in ("wall", "cpu"):
            raise ValueError(f"clock must be 'wall' or 'cpu', got '{clock}'")
        self.total_steps = total_steps
        self.max_seconds = max_seconds
        self.clock = clock
        self._time_fn = time_fn
        self._elapsed_before = 0.0  # seconds spent in earlier launches of this run
        self._started: float | None = None

    def _now(self) -> float:
        if self._time_fn is not None:
            return self._time_fn()
        return time.monotonic() if self.clock == "wall" else time.process_time()

    def start(self) -> None:
        """Start (or restart after a resume) the clock."""
        self._started = self._now()

    def elapsed(self) -> float:
        """Seconds of training so far (wall or CPU), over all launches."""
        running = 0.0 if self._started is None else self._now() - self._started
        return self._elapsed_before + running

    def out_of_time(self) -> bool:
        """Whether the time budget (if any) is spent."""
        return self.max_seconds is not None and self.elapsed() >= self.max_seconds

    def fraction(self, step: int) -> float:
        """Progress at ``step``: the further of the step and the time budget, capped at 1."""
        by_steps = step / self.total_steps
        if self.max_seconds is None:
            return min(1.0, by_steps)
        return min(1.0, max(by_steps, self.elapsed() / self.max_seconds))

    def projected_total(self, step: int) -> int:
        """The run's length in steps if it goes on at its current pace (``total_steps``
        without a time budget). Step-indexed schedules read ``step / projected_total``."""
        if self.max_seconds is None:
            return self.total_steps
        p = self.fraction(step)
        if p <= 0.0:
            return self.total_steps
        return max(step + 1, min(self.total_steps, math.ceil(step / p)))

    def state_dict(self) -> dict[str, Any]:
        return {"elapsed": self.elapsed()}

    def load_state_dict(self, state: dict[str, Any]) -> None:
        self._elapsed_before = float(state.get("elapsed", 0.0))
        self._started = None

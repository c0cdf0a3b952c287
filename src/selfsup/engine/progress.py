"""How far a run is: by optimizer steps, or by wall-clock when it has a time budget.

A run with ``train.max_minutes`` should spend its whole budget on one learning-rate cosine (and
one momentum schedule), not stop half-way down a schedule sized for ``max_epochs``. The clock
reports ``fraction(step) = max(step / total_steps, elapsed / budget)``: whichever budget runs
out first ends the schedule. Without a time budget it is exactly ``step / total_steps``, so
step-based runs are unchanged (and bit-for-bit reproducible; time-budgeted ones are not, since
the schedule follows the machine's speed).

A time budget is the wall time of the whole command, not of the optimizer steps alone: the
clock can start at the moment the command was launched (start-up, decoding and stem
initialisation count), and work that must still happen after the last step (the final online
kNN, the final checkpoint) is *reserved*, so training stops early enough for the command to end
within the budget. The schedule's time fraction spans only the window left for training.
"""

from __future__ import annotations

import math
import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from typing import Any


def clock_now() -> float:
    """The wall clock budgets are timed by (``time.monotonic``)."""
    return time.monotonic()


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
        # Seconds of the budget spent outside training steps: start-up of every launch (and
        # whatever callers add), so the schedule spans only the time left for training.
        self.outside = 0.0
        self.reserved: dict[str, float] = {}  # after-training work held back from the budget
        self._shared: float | None = None

    def now(self) -> float:
        """The clock's current reading (seconds; only differences are meaningful)."""
        if self._time_fn is not None:
            return self._time_fn()
        return clock_now() if self.clock == "wall" else time.process_time()

    def start(self, launched_at: float | None = None) -> None:
        """Start (or restart after a resume) the clock. ``launched_at``, an earlier reading of
        :meth:`now` (when the command started), makes the start-up count against the budget."""
        now = self.now()
        self._started = now if launched_at is None else min(launched_at, now)
        self.outside += now - self._started

    def reserve(self, what: str, seconds: float) -> None:
        """Hold ``seconds`` of the budget back for ``what`` (e.g. the final kNN) after training."""
        self.reserved[what] = max(0.0, float(seconds))

    def add_outside(self, seconds: float) -> None:
        """Count ``seconds`` spent during training on other work (evaluations, saves)."""
        self.outside += max(0.0, float(seconds))

    def training_budget(self) -> float | None:
        """Seconds of the budget left for optimizer steps (None without a time budget)."""
        if self.max_seconds is None:
            return None
        return max(1e-6, self.max_seconds - self.outside - sum(self.reserved.values()))

    def elapsed(self) -> float:
        """Seconds of training so far (wall or CPU), over all launches."""
        running = 0.0 if self._started is None else self.now() - self._started
        return self._elapsed_before + running

    def out_of_time(self) -> bool:
        """Whether the time budget (if any), less the reserved after-training work, is spent."""
        if self.max_seconds is None:
            return False
        return self.elapsed() + sum(self.reserved.values()) >= self.max_seconds

    def training_seconds(self) -> float:
        """Seconds spent in training steps so far (elapsed time less the outside work)."""
        return max(0.0, self.elapsed() - self.outside)

    def fraction(self, step: int) -> float:
        """Progress at ``step``: the further of the step and the time budget, capped at 1."""
        by_steps = step / self.total_steps
        if self.max_seconds is None:
            return min(1.0, by_steps)
        return min(1.0, max(by_steps, self.time_fraction()))

    def time_fraction(self) -> float:
        """Share of the training window spent (the shared value, once :meth:`share` set one)."""
        return self._shared if self._shared is not None else self.own_time_fraction()

    def own_time_fraction(self) -> float:
        """Share of the training window spent by this process's own clock."""
        budget = self.training_budget() or 1.0
        return min(1.0, self.training_seconds() / budget)

    def share(self, time_fraction: float) -> None:
        """Use ``time_fraction`` (rank 0's, broadcast) instead of this process's own reading:
        every rank of a run must follow the same schedule, step for step."""
        self._shared = float(time_fraction)

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
        return {"elapsed": self.elapsed(), "outside": self.outside}

    def load_state_dict(self, state: dict[str, Any]) -> None:
        self._elapsed_before = float(state.get("elapsed", 0.0))
        self.outside = float(state.get("outside", 0.0))
        self._started = None


@dataclass
class Timing:
    """Wall seconds a block of :func:`outside_training` work took (set when the block ends)."""

    seconds: float = 0.0


@contextmanager
def outside_training(
    clock: ProgressClock | None, reserve: str | None = None, margin: float = 1.0
) -> Iterator[Timing]:
    """Time a block of work that is not training (an evaluation, a save): its time is counted
    outside the steps on ``clock`` and, with ``reserve``, ``margin`` times it is held back for
    the same work once more after the last step."""
    timing = Timing()
    started, on_clock = time.monotonic(), clock.now() if clock is not None else 0.0
    yield timing
    timing.seconds = time.monotonic() - started
    if clock is not None:
        took = clock.now() - on_clock
        clock.add_outside(took)
        if reserve is not None:
            clock.reserve(reserve, margin * took)

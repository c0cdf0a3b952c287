"""Progress of a long pass over items: items/s and time left.

On a terminal it is a live bar; anywhere else (a log file, a batch job) it is one plain line
every ``every`` seconds, so logs stay readable and still tell how far a job is.
"""

from __future__ import annotations

import sys
import time
from collections.abc import Callable
from types import TracebackType
from typing import Any, TextIO


class ItemProgress:
    """Counts items done out of ``total``; use as a context manager around the pass.

    ``tty`` None asks ``stream.isatty()``; ``clock`` (seconds) can be replaced in tests.
    """

    def __init__(
        self,
        total: int,
        every: float = 10.0,
        what: str = "embedded",
        stream: TextIO | None = None,
        tty: bool | None = None,
        clock: Callable[[], float] = time.monotonic,
    ) -> None:
        self.total, self.every, self.what = total, every, what
        self.stream = stream if stream is not None else sys.stderr
        self.tty = self.stream.isatty() if tty is None else tty
        self.clock = clock
        self.done = 0
        self._start = self._last = 0.0
        self._bar: Any = None
        self._task: Any = None

    def __enter__(self) -> ItemProgress:
        self._start = self._last = self.clock()
        if self.tty:
            from rich.console import Console
            from rich.progress import (
                BarColumn,
                MofNCompleteColumn,
                Progress,
                TextColumn,
                TimeRemainingColumn,
            )

            self._bar = Progress(
                TextColumn(self.what),
                BarColumn(),
                MofNCompleteColumn(),
                TextColumn("{task.fields[rate]}"),
                TimeRemainingColumn(),
                console=Console(file=self.stream),
                transient=True,
            )
            self._bar.start()
            self._task = self._bar.add_task(self.what, total=self.total, rate="")
        return self

    def advance(self, n: int) -> None:
        """``n`` more items done."""
        self.done += n
        now = self.clock()
        if self._bar is not None:
            self._bar.update(self._task, completed=self.done, rate=f"{self.rate():,.0f} items/s")
        elif now - self._last >= self.every:
            self._last = now
            print(self.line(), file=self.stream, flush=True)

    def rate(self) -> float:
        """Items per second so far."""
        elapsed = self.clock() - self._start
        return self.done / elapsed if elapsed > 0 else 0.0

    def eta(self) -> float | None:
        """Seconds left at the current rate (None before any item)."""
        rate = self.rate()
        return (self.total - self.done) / rate if rate > 0 else None

    def line(self) -> str:
        """``embedded 5,000 of 20,000 items (25%), 812 items/s, ETA 0:00:18``."""
        share = self.done / self.total if self.total else 1.0
        eta = self.eta()
        left = "?" if eta is None else format_seconds(eta)
        return (
            f"{self.what} {self.done:,} of {self.total:,} items ({share:.0%}), "
            f"{self.rate():,.0f} items/s, ETA {left}"
        )

    def __exit__(
        self,
        kind: type[BaseException] | None,
        error: BaseException | None,
        traceback: TracebackType | None,
    ) -> None:
        if self._bar is not None:
            self._bar.stop()


def format_seconds(seconds: float) -> str:
    """``H:MM:SS``."""
    s = round(seconds)
    return f"{s // 3600}:{s % 3600 // 60:02d}:{s % 60:02d}"

"""Progress of the whole run, not of one epoch: steps or time budget, whichever ends first.

On a terminal one line redraws in place; with output redirected (CI, SLURM, nohup) a plain line
is printed every 10% of the run or every ``every_seconds``, so logs of long runs are never silent.
"""

from __future__ import annotations

import logging
import sys
import time
from collections.abc import Callable
from typing import Any, TextIO, cast

import lightning as L
import torch

from selfsup.engine.progress import ProgressClock

log = logging.getLogger("selfsup.engine")


def _clock(pl_module: L.LightningModule) -> ProgressClock:
    return cast(ProgressClock, pl_module.clock)


def format_seconds(seconds: float) -> str:
    """``75.4`` -> ``"1:15"``, ``3725`` -> ``"1:02:05"``."""
    s = max(0, round(seconds))
    h, rest = divmod(s, 3600)
    m, s = divmod(rest, 60)
    return f"{h}:{m:02d}:{s:02d}" if h else f"{m}:{s:02d}"


class RunProgress(L.Callback):
    """Whole-run progress with an ETA from the module's progress clock (rank 0 only).

    ``stream`` (stderr by default) decides the form: a redrawn bar when it is a terminal,
    plain lines otherwise. Epochs are numbered from 1, as the log lines number them.
    """

    def __init__(
        self,
        unit: str = "items",
        every_seconds: float = 30.0,
        stream: TextIO | None = None,
        amount: Callable[[Any], float] | None = None,
    ) -> None:
        self.unit = unit
        self.amount = amount  # a batch in ``unit`` (audio: its seconds); None: one per item
        self._done = 0.0
        self.every_seconds = every_seconds
        self.stream = stream
        self._last_print = 0.0
        self._next_tenth = 1
        self._marks: list[tuple[float, int]] = []  # (time, step) of recent steps, for the rate
        self._done_marks: list[float] = []  # the amount done by each mark
        self._drawn = False

    def _out(self) -> TextIO:
        return self.stream if self.stream is not None else sys.stderr

    def _tty(self) -> bool:
        isatty = getattr(self._out(), "isatty", None)
        return bool(callable(isatty) and isatty())

    def on_train_start(self, trainer: L.Trainer, pl_module: L.LightningModule) -> None:
        self._last_print = time.monotonic()
        clock = _clock(pl_module)
        self._next_tenth = int(clock.fraction(trainer.global_step) * 10) + 1

    def on_train_batch_end(
        self,
        trainer: L.Trainer,
        pl_module: L.LightningModule,
        outputs: Any,
        batch: Any,
        batch_idx: int,
    ) -> None:
        if not trainer.is_global_zero:
            return
        now = time.monotonic()
        step = trainer.global_step
        self._marks = [*self._marks[-20:], (now, step)]
        if self.amount is not None:
            self._done += self.amount(batch)
            self._done_marks = [*self._done_marks[-20:], self._done]
        fraction = _clock(pl_module).fraction(step)
        if self._tty():
            if now - self._last_print >= 0.5 or fraction >= 1.0:
                self._last_print = now
                self._out().write("\r\033[K" + self.line(trainer, pl_module, outputs))
                self._out().flush()
                self._drawn = True
            return
        tenth = int(fraction * 10)
        if tenth >= self._next_tenth or now - self._last_print >= self.every_seconds:
            self._next_tenth = tenth + 1
            self._last_print = now
            print(self.line(trainer, pl_module, outputs), file=self._out(), flush=True)

    def on_train_end(self, trainer: L.Trainer, pl_module: L.LightningModule) -> None:
        if self._drawn:
            self._out().write("\n")
            self._out().flush()
            self._drawn = False

    def line(self, trainer: L.Trainer, pl_module: L.LightningModule, outputs: Any) -> str:
        """One progress line: step, epoch, loss, throughput, elapsed and the run's ETA."""
        clock = _clock(pl_module)
        step = trainer.global_step
        total = clock.projected_total(step)
        fraction = clock.fraction(step)
        parts = [f"{100 * fraction:3.0f}%", f"step {step}/{total}"]
        if trainer.max_epochs not in (None, -1) and trainer.max_steps < 1:
            parts.append(f"epoch {trainer.current_epoch + 1}/{trainer.max_epochs}")
        loss = outputs.get("loss") if isinstance(outputs, dict) else outputs
        if isinstance(loss, torch.Tensor) and loss.numel() == 1:
            parts.append(f"loss {loss.item():.4f}")
        rate = self._rate(trainer)
        if rate is not None:
            parts.append(f"{rate:,.0f} {self.unit}/s")
        parts.append(f"{format_seconds(clock.elapsed())} elapsed")
        if 0.0 < fraction < 1.0:
            left = clock.training_seconds() * (1.0 - fraction) / fraction
            parts.append(f"ETA {format_seconds(left + sum(clock.reserved.values()))}")
        return " · ".join(parts)

    def _rate(self, trainer: L.Trainer) -> float | None:
        if len(self._marks) < 2 or self._marks[-1][0] <= self._marks[0][0]:
            return None
        (t0, s0), (t1, s1) = self._marks[0], self._marks[-1]
        if self.amount is not None and len(self._done_marks) == len(self._marks):
            done = self._done_marks[-1] - self._done_marks[0]
            return done * trainer.world_size / (t1 - t0)
        batch = getattr(getattr(trainer, "datamodule", None), "batch_size", None)
        per_step = (batch or 1) * trainer.world_size
        return (s1 - s0) * per_step / (t1 - t0)


def closing_line(stopped_by: str, step: int, total_seconds: float, spent: dict[str, float]) -> str:
    """The run's last line: why it stopped and where the time went, e.g. ``time budget of
    1.5 min reached at step 16; 1:29 in all (start-up and data 0:12, training 1:10, ...)``."""
    shares = ", ".join(f"{what} {format_seconds(s)}" for what, s in spent.items() if s >= 0.5)
    return f"{stopped_by} at step {step}; {format_seconds(total_seconds)} in all ({shares})"

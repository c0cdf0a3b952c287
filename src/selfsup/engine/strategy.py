"""The distributed strategy, with a collective timeout so a hung rank becomes an error.

Without one, a rank that stops answering (stopped, swapped out, stuck on I/O) leaves every other
rank waiting in its next all-reduce for torch's default half hour, silently. With
``train.dist_timeout_minutes`` the waiting ranks fail after that long, and :func:`timeout_error`
turns the backend's exception into one line naming the rank and the setting.
"""

from __future__ import annotations

import os
from datetime import timedelta
from typing import Any

from selfsup.config.schema import TrainConfig
from selfsup.registry import RunError


def multi_process(t: TrainConfig) -> bool:
    """Whether the configured run has more than one process."""
    if t.num_nodes > 1 or int(os.environ.get("WORLD_SIZE", "1")) > 1:
        return True
    devices = t.devices
    if isinstance(devices, int):
        return devices > 1 or devices == -1
    ids = [d for d in str(devices).strip("[]").split(",") if d.strip()]
    return devices == "-1" or len(ids) > 1


def build_strategy(t: TrainConfig) -> Any:
    """``t.strategy`` for Lightning: DDP (named, or picked by ``auto`` for several processes)
    gets the configured collective timeout; any other strategy passes through by name."""
    if t.strategy == "ddp" or (t.strategy == "auto" and multi_process(t)):
        from lightning.pytorch.strategies import DDPStrategy

        return DDPStrategy(timeout=timedelta(minutes=t.dist_timeout_minutes))
    return t.strategy


def timeout_error(err: BaseException, minutes: float, rank: int) -> RunError | None:
    """A one-line RunError when ``err`` is a collective that timed out, else None."""
    text = str(err).lower()
    if "timed out" not in text and "timeout" not in text:
        return None
    return RunError(
        f"rank {rank}: a collective operation timed out after {minutes:g} min, so another rank "
        "stopped responding (killed, stopped or stuck); see that rank's output. The wait is "
        "train.dist_timeout_minutes"
    )

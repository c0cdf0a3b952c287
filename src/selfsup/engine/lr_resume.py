"""A resume sets the next step's LR from the run's own schedule, not from the checkpoint.

The optimizer state in a checkpoint holds the LR its last step computed for the step after it.
For a run resumed with the length it had, that is the schedule's value anyway; for a run made
longer (a larger ``train.max_steps`` or ``max_epochs``, e.g. to continue a finished run), it is
the old schedule's value, which at the end of a cosine is 0: the first new step would not train.
So on resume the LR of the next step is derived again from the schedule of the new length: the
warmup + cosine of a run that long from the start, the finished steps keeping what they had.
"""

from __future__ import annotations

import logging
from collections.abc import Callable

import lightning as L

log = logging.getLogger("selfsup.engine")


def continue_lr_schedule(
    trainer: L.Trainer,
    lr_factor: Callable[[int], float],
    previous_total: int | None,
    total: int,
    time_budgeted: bool,
) -> None:
    """Set every scheduled optimizer's LR to ``base LR * lr_factor(step)`` for the next step.

    A time-budgeted run's factor follows its clock, which has moved on since the save: it keeps
    the saved LR (so its resume stays exact) unless its length in steps changed.
    """
    extended = previous_total is not None and previous_total != total
    if time_budgeted and not extended:
        return
    for config in trainer.lr_scheduler_configs:
        scheduler = config.scheduler
        step = int(scheduler.last_epoch)
        lrs = [base * lr_factor(step) for base in scheduler.base_lrs]  # as LambdaLR computes it
        for group, lr in zip(scheduler.optimizer.param_groups, lrs, strict=True):
            group["lr"] = lr
        scheduler._last_lr = lrs
        if extended and trainer.is_global_zero:
            log.info(
                "the run's length goes from %d to %d steps: the LR now follows the warmup + "
                "cosine of a run of %d steps, from step %d at LR %.4g (the finished steps "
                "keep theirs)",
                previous_total,
                total,
                total,
                step + 1,
                lrs[0],
            )

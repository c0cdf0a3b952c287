"""How long a run is and how it ended: total and warmup steps, whether a resumed run is already
finished, and the closing line that says where the time went."""

from __future__ import annotations

import logging
from pathlib import Path
from typing import Any

import lightning as L

from selfsup.config.schema import RunConfig
from selfsup.engine.checkpoint import checkpoint_step
from selfsup.engine.module import CLOCK_KEY, SSLModule
from selfsup.engine.progress import clock_now
from selfsup.engine.run_progress import closing_line
from selfsup.engine.safe_load import read_checkpoint
from selfsup.registry import ConfigError

log = logging.getLogger("selfsup.engine")


def warmup_steps(cfg: RunConfig, steps_per_epoch: int | None, total_steps: int) -> int:
    """``optim.warmup_epochs`` in steps, capped at the run; a warning when it fills the run."""
    warmup = round(cfg.optim.warmup_epochs * (steps_per_epoch or 0))
    if warmup >= total_steps > 0:
        log.warning(
            "optim.warmup_epochs=%g is %d steps, as long as the whole run (%d steps): the LR "
            "never leaves warmup; lower optim.warmup_epochs",
            cfg.optim.warmup_epochs,
            warmup,
            total_steps,
        )
    return min(total_steps, warmup)


def closing(
    cfg: RunConfig,
    trainer: L.Trainer,
    module: SSLModule,
    started_at: float,
    evals: dict[str, float],
    save_seconds: float,
) -> str:
    """Why the run stopped and how its wall time was spent (``evals``: seconds per online
    evaluation, e.g. the online kNN)."""
    step = trainer.global_step
    if module.budget_stopped:
        stopped_by = f"time budget of {cfg.train.max_minutes:g} min reached"
    elif step < module.total_steps:
        stopped_by = "stopped early"
    else:
        stopped_by = f"finished all {module.total_steps} steps"
    total = clock_now() - started_at
    start_up = max(0.0, (module.train_started_at or started_at) - started_at)
    spent = {
        "start-up and data": start_up,
        "training": max(0.0, total - start_up - sum(evals.values()) - save_seconds),
        **evals,
        "checkpoints": save_seconds,
    }
    return closing_line(stopped_by, step, total, spent)


def finished(ckpt_path: Path, total_steps: int, cfg: RunConfig) -> bool:
    """Whether the run being resumed already ran its course (then nothing is written)."""
    step = checkpoint_step(ckpt_path)
    if step >= total_steps:
        log.info(
            "%s is finished: step %d of %d; nothing to do (to train longer, resume with a "
            "larger train.max_steps or train.max_epochs)",
            ckpt_path.parent.parent,
            step,
            total_steps,
        )
        return True
    budget = cfg.train.max_minutes
    if budget:
        spent = read_checkpoint(ckpt_path).get(CLOCK_KEY, {}).get("elapsed", 0.0)
        if spent >= 60 * budget:
            log.info(
                "%s is finished: its time budget of %g min was spent at step %d; nothing to "
                "do (to train longer, resume with a larger train.max_minutes)",
                ckpt_path.parent.parent,
                budget,
                step,
            )
            return True
    return False


def length(dataset: Any) -> int:
    return len(dataset) if hasattr(dataset, "__len__") else 0


def total_steps_of(
    cfg: RunConfig, steps_per_epoch: int | None, dataset_size: int = 0, world_size: int = 1
) -> int:
    if cfg.train.max_steps >= 1:
        return cfg.train.max_steps
    if steps_per_epoch is None:
        raise ConfigError("a streamed source has no length: set train.max_steps")
    if steps_per_epoch < 1:
        items, world = dataset_size, max(1, world_size)
        per_device = items // world
        fits = 1 << max(0, (per_device // 2).bit_length() - 1)  # a power of 2, >= 2 steps
        fix = f"set data.batch_size={fits} or lower" if per_device else ""
        raise ConfigError(
            f"data.batch_size {cfg.data.batch_size} is larger than the {per_device:,} training "
            f"items per device ({items:,} items over {world} device{'s' if world > 1 else ''})"
            f"{'; ' + fix if fix else ''} (the last incomplete batch of an epoch is dropped)"
        )
    return steps_per_epoch * cfg.train.max_epochs

"""What a resume may change. A resumed run continues the checkpoint's training exactly, so its
records (``config.yaml``, ``run.json``) must keep describing what trained: overrides that would
change the trained model, its data or its schedule's shape are refused with one line.

Allowed: how long (``train.max_epochs``, ``max_steps``, ``max_minutes``), how often to save,
log and evaluate, where metrics go, the hardware and the data loader's workers.
"""

from __future__ import annotations

import json
import logging
from pathlib import Path
from typing import Any

from selfsup.config.schema import RunConfig
from selfsup.registry import ConfigError

log = logging.getLogger("selfsup.engine")

RESUMABLE = {
    "train": {
        "max_epochs", "max_steps", "max_minutes", "checkpoint_every_n_steps", "keep_last",
        "log_every_n_steps", "progress", "loggers", "skip_nonfinite", "accelerator",
        "devices", "strategy", "num_nodes",
    },
    "eval": {
        "knn_every_n_epochs", "knn_k", "knn_temperature", "knn_bank_size", "knn_query_size",
        "batch_size", "collapse_threshold", "collapse_patience", "stop_on_collapse",
        "collapse_rank_threshold", "val_loss_every_n_steps", "val_loss_batches",
    },
    "data": {"num_workers"},
}  # fmt: skip


def _flat(cfg: dict[str, Any]) -> dict[str, Any]:
    """``{"train": {"seed": 0}}`` -> ``{"train.seed": 0}`` (named sections' args are flat)."""
    return {f"{s}.{k}": v for s, body in cfg.items() for k, v in body.items()}


def check_resume_overrides(saved: RunConfig, resumed: RunConfig) -> None:
    """ConfigError naming the first override a resume may not take (and what it may)."""
    before, after = _flat(saved.to_dict()), _flat(resumed.to_dict())
    for key in sorted(set(before) | set(after)):
        if before.get(key) == after.get(key):
            continue
        section, name = key.split(".", 1)
        if name not in RESUMABLE.get(section, set()):
            raise ConfigError(
                f"a resume cannot change {key} (the run trained with {before.get(key)!r}): "
                "start a new run for that; a resume may change how long it trains "
                "(train.max_epochs, max_steps, max_minutes), saving, logging, evaluation "
                "and hardware"
            )


def warn_world_change(run_dir: Path, world: int, global_batch: int) -> None:
    """A resume on another number of processes trains with another global batch and LR."""
    try:
        before = json.loads((run_dir / "run.json").read_text())
    except (OSError, ValueError):
        return
    old_world, old_batch = before.get("world_size"), before.get("global_batch")
    if isinstance(old_world, int) and old_world != world:
        log.warning(
            "this resume runs on %d process%s, the run trained on %d: the global batch goes "
            "from %s to %d and the LR scales with it; resume with train.devices / "
            "train.num_nodes as before to continue unchanged",
            world,
            "" if world == 1 else "es",
            old_world,
            old_batch,
            global_batch,
        )


def recorded_total_steps(run_dir: Path) -> int | None:
    """The run's length in steps as its ``run.json`` records it (None when unknown)."""
    try:
        total = json.loads((run_dir / "run.json").read_text()).get("total_steps")
    except (OSError, ValueError, AttributeError):
        return None
    return total if isinstance(total, int) else None

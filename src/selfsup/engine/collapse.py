"""Label-free collapse alarm: the embedding std stays far below its isotropic value for too long.

An isotropic ``[B, D]`` batch of L2-normalised embeddings has a per-dimension std of about
``1 / sqrt(D)``; a collapsed one (every sample mapped to the same direction) has 0. The alarm
fires once per episode of ``patience`` consecutive low checks and re-arms when the std recovers.
"""

from __future__ import annotations

import logging
import math
from typing import Any

import lightning as L

from selfsup.registry import ConfigError

log = logging.getLogger("selfsup.engine")


class CollapseDetector:
    """The alarm's state machine, free of Lightning so it can be driven by hand.

    Args:
        threshold: fraction of the isotropic std ``1 / sqrt(D)`` below which a check is "low".
        patience: consecutive low checks that make a collapse.
    """

    def __init__(self, threshold: float = 0.1, patience: int = 20) -> None:
        if not 0 < threshold < 1:
            raise ConfigError(f"eval.collapse_threshold must be in (0, 1), got {threshold}")
        if patience < 1:
            raise ConfigError(f"eval.collapse_patience must be >= 1, got {patience}")
        self.threshold = threshold
        self.patience = patience
        self.low_checks = 0
        self.collapsed = False  # inside an episode that has already raised its alarm
        self.alarms = 0

    def limit(self, dim: int) -> float:
        """The std below which a ``dim``-wide embedding counts as collapsing."""
        return self.threshold / math.sqrt(dim)

    def update(self, std: float, dim: int, step: int) -> str | None:
        """Record one check; returns the alarm message on the check that starts an episode."""
        limit = self.limit(dim)
        if std >= limit:
            if self.collapsed:
                log.info("embedding std recovered: %.4g >= %.4g at step %d", std, limit, step)
            self.low_checks, self.collapsed = 0, False
            return None
        self.low_checks += 1
        if self.collapsed or self.low_checks < self.patience:
            return None
        self.collapsed = True
        self.alarms += 1
        return (
            f"embedding collapse: std {std:.4g} < {limit:.4g} "
            f"({100 * self.threshold:g}% of 1/sqrt({dim})) for {self.low_checks} steps "
            f"at step {step}"
        )


class CollapseMonitor(L.Callback):
    """Checks the module's per-step ``latest_embedding_std`` (see :class:`SSLModule`).

    Logs the metric ``collapsed`` (0/1) every step, one WARNING on the "selfsup.engine" logger per
    collapse episode, and with ``stop_on_collapse`` ends training at the alarm.
    """

    def __init__(
        self, threshold: float = 0.1, patience: int = 20, stop_on_collapse: bool = False
    ) -> None:
        self.detector = CollapseDetector(threshold, patience)
        self.stop_on_collapse = stop_on_collapse

    def on_train_batch_end(
        self,
        trainer: L.Trainer,
        pl_module: L.LightningModule,
        outputs: Any,
        batch: Any,
        batch_idx: int,
    ) -> None:
        std: float | None = getattr(pl_module, "latest_embedding_std", None)
        dim: int | None = getattr(pl_module, "embedding_dim", None)
        if std is None or dim is None:
            return  # the method returns no embedding (or this step was skipped)
        message = self.detector.update(std, dim, trainer.global_step)
        pl_module.log("collapsed", float(self.detector.collapsed), on_step=True, on_epoch=False)
        if message is not None and trainer.is_global_zero:
            log.warning(message)
        if self.stop_on_collapse:
            # Every rank must agree, or the ranks that carry on wait forever for the others.
            stop = trainer.strategy.reduce_boolean_decision(self.detector.collapsed, all=False)
            if stop:
                trainer.should_stop = True
                if message is not None and trainer.is_global_zero:
                    log.warning("stopping: eval.stop_on_collapse is set")

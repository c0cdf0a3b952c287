"""Label-free collapse alarm: embedding std or effective rank stays too low for too long.

An isotropic ``[B, D]`` batch of L2-normalised embeddings has a per-dimension std of about
``1 / sqrt(D)``; a collapsed one (every sample mapped to the same direction) has 0. The std misses
dimensional collapse (embeddings spread, but inside a few directions); the effective rank
(RankMe, see ``selfsup.eval.monitors.effective_rank``) catches it: it falls towards 1 while its
maximum is ``min(B, D)``. A check is low when either signal is below its limit. The alarm fires
once per episode of ``patience`` consecutive low checks and re-arms when both recover.
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
        rank_threshold: fraction of the largest possible effective rank ``min(B, D)`` below
            which a check is "low" (0 turns the rank check off).
    """

    def __init__(
        self, threshold: float = 0.1, patience: int = 20, rank_threshold: float = 0.05
    ) -> None:
        if not 0 < threshold < 1:
            raise ConfigError(f"eval.collapse_threshold must be in (0, 1), got {threshold}")
        if patience < 1:
            raise ConfigError(f"eval.collapse_patience must be >= 1, got {patience}")
        if not 0 <= rank_threshold < 1:
            raise ConfigError(
                f"eval.collapse_rank_threshold must be in [0, 1), got {rank_threshold}"
            )
        self.threshold = threshold
        self.patience = patience
        self.rank_threshold = rank_threshold
        self.low_checks = 0
        self.collapsed = False  # inside an episode that has already raised its alarm
        self.alarms = 0
        self.events: list[dict[str, float | int | str]] = []  # one per alarm, for the run's JSON

    def limit(self, dim: int) -> float:
        """The std below which a ``dim``-wide embedding counts as collapsing."""
        return self.threshold / math.sqrt(dim)

    def rank_limit(self, max_rank: int) -> float:
        """The effective rank below which a batch with ``min(B, D) = max_rank`` is collapsing."""
        return self.rank_threshold * max_rank

    def update(
        self,
        std: float,
        dim: int,
        step: int,
        rank: float | None = None,
        max_rank: int | None = None,
    ) -> str | None:
        """Record one check; returns the alarm message on the check that starts an episode.

        ``rank`` (effective rank of the batch) and ``max_rank`` (``min(B, D)``) are optional;
        without them only the std is checked.
        """
        limit = self.limit(dim)
        reasons = []
        if std < limit:
            reasons.append(
                f"std {std:.4g} < {limit:.4g} ({100 * self.threshold:g}% of 1/sqrt({dim}))"
            )
        if rank is not None and max_rank is not None and rank < self.rank_limit(max_rank):
            reasons.append(
                f"effective rank {rank:.3g} < {self.rank_limit(max_rank):.3g} "
                f"({100 * self.rank_threshold:g}% of {max_rank})"
            )
        if not reasons:
            if self.collapsed:
                log.info("embedding std and rank recovered at step %d (std %.4g)", step, std)
            self.low_checks, self.collapsed = 0, False
            return None
        self.low_checks += 1
        if self.collapsed or self.low_checks < self.patience:
            return None
        self.collapsed = True
        self.alarms += 1
        why = " and ".join(reasons)
        message = f"embedding collapse: {why} for {self.low_checks} steps at step {step}"
        self.events.append({"step": step, "std": std, "rank": rank or -1.0, "message": message})
        return message


class CollapseMonitor(L.Callback):
    """Checks the module's per-step ``latest_embedding_std`` (see :class:`SSLModule`) and, when
    the module sets them, ``latest_embedding_rank`` and ``latest_embedding_max_rank``.

    Logs the metric ``collapsed`` (0/1) every step, one WARNING on the "selfsup.engine" logger per
    collapse episode, and with ``stop_on_collapse`` ends training at the alarm.
    """

    def __init__(
        self,
        threshold: float = 0.1,
        patience: int = 20,
        stop_on_collapse: bool = False,
        rank_threshold: float = 0.05,
    ) -> None:
        self.detector = CollapseDetector(threshold, patience, rank_threshold)
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
        rank: float | None = getattr(pl_module, "latest_embedding_rank", None)
        max_rank: int | None = getattr(pl_module, "latest_embedding_max_rank", None)
        message = self.detector.update(std, dim, trainer.global_step, rank, max_rank)
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

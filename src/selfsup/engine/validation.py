"""A periodic held-out loss (``val_loss``) for methods that define one (language models).

Cheap by design: a fixed, evenly spread set of at most ``max_batches`` batches of the
validation split, the same items (and, for masked LMs, the same masks) at every evaluation, so
the curve moves only with the weights. Under a time budget its cost is counted outside the
training steps and the final evaluation is reserved, as the online kNN's is.
"""

from __future__ import annotations

import itertools
import logging
import math
from collections.abc import Callable
from typing import Any

import lightning as L
import torch
from torch.utils.data import DataLoader, Dataset, IterableDataset, Subset

from selfsup.config.schema import RunConfig
from selfsup.engine.build import build_split
from selfsup.engine.progress import outside_training
from selfsup.methods.base import Method
from selfsup.modalities.pairs import collate_for
from selfsup.registry import ConfigError

log = logging.getLogger("selfsup.engine")


def has_validation_loss(method: Method) -> bool:
    """Whether ``method`` overrides :meth:`Method.validation_loss`."""
    return type(method).validation_loss is not Method.validation_loss


def validation_items(dataset: Dataset[Any], count: int) -> Dataset[Any]:
    """At most ``count`` items of ``dataset``, evenly spread over it (all of a smaller one)."""
    n = len(dataset)  # type: ignore[arg-type]
    if n <= count:
        return dataset
    return Subset(dataset, torch.linspace(0, n - 1, count).round().long().tolist())


class ValidationLoss(L.Callback):
    """Every ``every_n_steps`` optimizer steps and once when training ends, the method's mean
    :meth:`~selfsup.methods.base.Method.validation_loss` over ``items``, logged as
    ``val_loss`` (rank 0 evaluates; the items are the same on every rank)."""

    def __init__(
        self,
        items: Dataset[Any],
        every_n_steps: int,
        batch_size: int,
        collate_fn: Callable[[list[Any]], Any],
        seed: int = 0,
    ) -> None:
        self.items = items
        self.every_n_steps = every_n_steps
        self.batch_size = batch_size
        self.collate_fn = collate_fn
        self.seed = seed
        self.history: list[tuple[int, float]] = []
        self.seconds = 0.0  # spent evaluating in this launch

    @torch.no_grad()
    def evaluate(
        self, method: Method, device: torch.device, max_batches: int | None = None
    ) -> float:
        """The mean validation loss of ``method``'s current weights (dropout off), over the
        first ``max_batches`` batches of the items (all by default)."""
        was_training = method.training
        method.eval()
        loader = DataLoader(self.items, batch_size=self.batch_size, collate_fn=self.collate_fn)
        total, count = 0.0, 0
        try:
            for i, batch in enumerate(itertools.islice(loader, max_batches)):
                batch = {k: v.to(device) for k, v in batch.items()}
                gen = torch.Generator(device=device).manual_seed(self.seed + i)
                loss = method.validation_loss(batch, generator=gen)
                if loss is None:
                    raise TypeError(f"{type(method).__name__} has no validation loss")
                n = len(batch["input"])
                total, count = total + float(loss) * n, count + n
        finally:
            method.train(was_training)
        return total / max(1, count)

    def on_train_start(self, trainer: L.Trainer, pl_module: L.LightningModule) -> None:
        clock = getattr(pl_module, "clock", None)
        if clock is None or clock.max_seconds is None or not trainer.is_global_zero:
            return
        # Under a time budget, hold back the final evaluation's time from the start: one
        # batch's cost scaled to all of them, with a margin.
        batches = math.ceil(len(self.items) / self.batch_size)  # type: ignore[arg-type]
        with outside_training(clock, "validation loss", 1.2 * batches) as timing:
            self.evaluate(pl_module.method, pl_module.device, max_batches=1)  # type: ignore[arg-type]
        self.seconds += timing.seconds

    def on_train_batch_end(
        self,
        trainer: L.Trainer,
        pl_module: L.LightningModule,
        outputs: Any,
        batch: Any,
        batch_idx: int,
    ) -> None:
        step = trainer.global_step
        if step > 0 and step % self.every_n_steps == 0 and not trainer.should_stop:
            self._evaluate_and_log(trainer, pl_module)

    def on_train_end(self, trainer: L.Trainer, pl_module: L.LightningModule) -> None:
        step = trainer.global_step
        if step > 0 and not (self.history and self.history[-1][0] == step):
            self._evaluate_and_log(trainer, pl_module)

    def _evaluate_and_log(self, trainer: L.Trainer, pl_module: L.LightningModule) -> None:
        if not trainer.is_global_zero:
            return
        # Not training time; keep room for the final evaluation.
        with outside_training(getattr(pl_module, "clock", None), "validation loss", 1.1) as timing:
            loss = self.evaluate(pl_module.method, pl_module.device)  # type: ignore[arg-type]
        self.seconds += timing.seconds
        step = trainer.global_step
        self.history.append((step, loss))
        for logger in trainer.loggers:  # straight to the loggers: only this rank has the value
            logger.log_metrics({"val_loss": loss}, step=step)
        log.info("step %d: validation loss %.4f", step, loss)


def build_validation(cfg: RunConfig, method: Method) -> ValidationLoss | None:
    """The ``val_loss`` callback of a run, or None: the method has no validation loss, it is
    off (``eval.val_loss_every_n_steps=0``), or there is no usable validation split."""
    every = cfg.eval.val_loss_every_n_steps
    if every < 1 or not has_validation_loss(method) or not cfg.data.val_split:
        return None
    try:
        val = build_split(cfg, cfg.data.val_split)
    except (ConfigError, ValueError, FileNotFoundError) as e:
        log.info("validation loss off: no '%s' split (%s)", cfg.data.val_split, e)
        return None
    if isinstance(val, IterableDataset) or len(val) == 0:
        log.info("validation loss off: the '%s' split is a stream or empty", cfg.data.val_split)
        return None
    batch = cfg.data.batch_size
    items = validation_items(val, cfg.eval.val_loss_batches * batch)
    collate = collate_for(val, method.encoder())
    return ValidationLoss(items, every, batch, collate, cfg.train.seed)

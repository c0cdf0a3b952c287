"""Training callbacks: throughput and the online kNN monitor."""

from __future__ import annotations

import logging
import time
from collections.abc import Callable
from typing import Any

import lightning as L
import torch
from torch.utils.data import Dataset, Subset, default_collate

from selfsup.engine.progress import outside_training
from selfsup.eval.features import extract_features
from selfsup.eval.knn import knn_accuracy
from selfsup.methods.base import Method
from selfsup.modalities import modality_of

log = logging.getLogger("selfsup.engine")


class Throughput(L.Callback):
    """Logs samples/s over all ranks (``img_s``), smoothed over the last ``window`` steps.

    ``amount`` measures a batch in the modality's unit (audio: seconds of audio); without it a
    sample is one item."""

    def __init__(
        self, batch_size: int, window: int = 10, amount: Callable[[Any], float] | None = None
    ) -> None:
        self.batch_size = batch_size
        self.window = window
        self.global_batch = batch_size
        self.amount = amount
        self.world = 1
        self._times: list[float] = []
        self._amounts: list[float] = []

    def on_train_start(self, trainer: L.Trainer, pl_module: L.LightningModule) -> None:
        self.global_batch = self.batch_size * trainer.world_size
        self.world = trainer.world_size

    def on_train_batch_end(
        self,
        trainer: L.Trainer,
        pl_module: L.LightningModule,
        outputs: Any,
        batch: Any,
        batch_idx: int,
    ) -> None:
        now = time.perf_counter()
        self._times = [*self._times[-self.window :], now]
        if self.amount is not None:  # ranks' batches alike: this one's amount times the world
            self._amounts = [*self._amounts[-self.window :], self.amount(batch) * self.world]
        if len(self._times) >= 2:
            done = sum(self._amounts[1:]) if self.amount is not None else None
            count = done if done is not None else self.global_batch * (len(self._times) - 1)
            rate = count / (self._times[-1] - self._times[0])
            pl_module.log("img_s", rate, prog_bar=True, on_step=True, on_epoch=False)

    def on_train_epoch_start(self, trainer: L.Trainer, pl_module: L.LightningModule) -> None:
        # the gap across epoch boundaries (checkpoints, kNN) is not throughput
        self._times, self._amounts = [], []


class EpochData(L.Callback):
    """Per-epoch data chores: reshuffle streamed shards, and report files skipped as unreadable."""

    def __init__(self, dataset: Any) -> None:
        self.dataset = dataset

    def on_train_epoch_start(self, trainer: L.Trainer, pl_module: L.LightningModule) -> None:
        set_epoch = getattr(self.dataset, "set_epoch", None)
        if callable(set_epoch):
            set_epoch(trainer.current_epoch)

    def on_train_epoch_end(self, trainer: L.Trainer, pl_module: L.LightningModule) -> None:
        report = getattr(self.dataset, "report_skips", None)
        if callable(report):
            report()


class OnlineKNN(L.Callback):
    """Every ``every_n_epochs`` and once when training ends, kNN top-1 of the current encoder.

    The bank is a labeled subset of the training data and the queries a held-out split; both
    pass through the method's deterministic ``eval_view`` preprocessing. Under a time budget the
    final evaluation's cost is reserved on the module's clock (estimated from one batch at the
    start, then measured), so the command still ends within its budget.
    """

    def __init__(
        self,
        bank: Dataset[Any],
        queries: Dataset[Any],
        every_n_epochs: int,
        k: int,
        temperature: float,
        batch_size: int,
    ) -> None:
        self.bank, self.queries = bank, queries
        self.every_n_epochs, self.k, self.temperature = every_n_epochs, k, temperature
        self.batch_size = batch_size
        self.history: list[tuple[int, float]] = []
        self.seconds = 0.0  # spent evaluating in this launch

    @torch.no_grad()
    def evaluate(self, pl_module: L.LightningModule) -> float:
        """kNN top-1 accuracy of the current backbone."""
        method: Method = pl_module.method  # type: ignore[assignment]
        encode = method.embed
        device, batch = pl_module.device, self.batch_size
        collate = _collate_of(method)
        bank = extract_features(encode, self.bank, batch, device, collate_fn=collate)
        query = extract_features(encode, self.queries, batch, device, collate_fn=collate)
        return knn_accuracy(
            bank.features,
            bank.labels,
            query.features,
            query.labels,
            k=self.k,
            temperature=self.temperature,
        )

    def on_train_start(self, trainer: L.Trainer, pl_module: L.LightningModule) -> None:
        clock = getattr(pl_module, "clock", None)
        if clock is None or clock.max_seconds is None or not trainer.is_global_zero:
            return
        method: Method = pl_module.method  # type: ignore[assignment]
        n = len(self.bank) + len(self.queries)  # type: ignore[arg-type]
        one = Subset(self.bank, range(min(self.batch_size, len(self.bank))))  # type: ignore[arg-type]

        collate = _collate_of(method)

        def one_batch() -> None:
            with torch.no_grad():
                extract_features(
                    method.embed, one, self.batch_size, pl_module.device, collate_fn=collate
                )

        with outside_training(clock) as warm:  # first-call costs
            one_batch()
        # One batch's cost scaled to bank + queries, with a margin for the kNN itself.
        with outside_training(clock, "online kNN", 1.2 * n / max(1, len(one))) as timed:
            one_batch()
        self.seconds += warm.seconds + timed.seconds
        reserve = clock.reserved["online kNN"]
        if reserve > 0.25 * clock.max_seconds:
            log.warning(
                "the closing online kNN (about %.0f s for %s bank + query images) takes %.0f%% "
                "of the time budget: lower eval.knn_bank_size / eval.knn_query_size, or set "
                "eval.knn_every_n_epochs=0 and evaluate afterwards with selfsup eval knn",
                reserve,
                f"{n:,}",
                100 * reserve / clock.max_seconds,
            )

    def on_train_epoch_end(self, trainer: L.Trainer, pl_module: L.LightningModule) -> None:
        epoch = trainer.current_epoch + 1
        if trainer.should_stop or epoch % self.every_n_epochs:
            return  # a stopping run evaluates once, in on_train_end
        self._evaluate_and_log(trainer, pl_module)

    def on_train_end(self, trainer: L.Trainer, pl_module: L.LightningModule) -> None:
        if trainer.global_step > 0 and not (
            self.history and self.history[-1][0] == trainer.global_step
        ):
            self._evaluate_and_log(trainer, pl_module)

    def _evaluate_and_log(self, trainer: L.Trainer, pl_module: L.LightningModule) -> None:
        if not trainer.is_global_zero:
            return  # one rank evaluates: the bank and queries are the same on every rank
        # Evaluations are not training time; keep room for the last one.
        with outside_training(getattr(pl_module, "clock", None), "online kNN", 1.1) as timing:
            acc = self.evaluate(pl_module)
        self.seconds += timing.seconds
        self.history.append((trainer.global_step, acc))
        for logger in trainer.loggers:  # straight to the loggers: only this rank has the value
            logger.log_metrics({"knn_top1": acc}, step=trainer.global_step)
        epoch = trainer.current_epoch + 1
        log.info("epoch %d step %d: online kNN top-1 %.2f%%", epoch, trainer.global_step, 100 * acc)


def _collate_of(method: Any) -> Callable[[list[Any]], Any]:
    """How the method's encoder batches items (audio pads clips); plain stacking for anything
    that only offers ``embed``."""
    encoder = getattr(method, "encoder", None)
    return modality_of(encoder()).collate if callable(encoder) else default_collate

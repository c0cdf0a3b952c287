"""Training data for the engine: a resumable sampler over an in-memory or lazy dataset, or a
stream (tar shards) that resumes itself from the batch count."""

from __future__ import annotations

import logging
from collections.abc import Callable
from typing import Any

import lightning as L
from torch.utils.data import DataLoader, Dataset, IterableDataset

from selfsup.data.shard_plan import Batching, ResumableStream
from selfsup.engine.sampler import ResumableSampler

log = logging.getLogger("selfsup.engine")


class SSLDataModule(L.LightningDataModule):
    """Serves the training split; its state (epoch, batches done) rides in every checkpoint."""

    def __init__(
        self,
        dataset: Dataset[Any],
        batch_size: int,
        num_workers: int,
        seed: int,
        collate_fn: Callable[[list[Any]], Any] | None = None,
        epochs: int | None = None,
    ) -> None:
        """``epochs``: the run's epoch count when it counts epochs (a stream then keeps one
        epoch length throughout), else None."""
        super().__init__()
        self.dataset = dataset
        self.batch_size = batch_size
        self.num_workers = num_workers
        self.seed = seed
        self.collate_fn = collate_fn
        self.epochs = epochs
        self._batching: Batching | None = None
        self._resume: dict[str, int] | None = None
        self.sampler: ResumableSampler | None = None

    def batches_per_epoch(self, world_size: int) -> int | None:
        """Optimizer steps per epoch on each rank (None for streams of unknown length)."""
        if isinstance(self.dataset, ResumableStream):
            return self._batched_stream(self.dataset, world_size).batches_per_epoch()
        if isinstance(self.dataset, IterableDataset):
            return None
        return (len(self.dataset) // world_size) // self.batch_size  # type: ignore[arg-type]

    def train_dataloader(self) -> DataLoader[Any]:
        rank = self.trainer.global_rank if self.trainer else 0
        world = self.trainer.world_size if self.trainer else 1
        kwargs: dict[str, Any] = dict(
            batch_size=self.batch_size,
            num_workers=self.num_workers,
            collate_fn=self.collate_fn,
            drop_last=True,
            persistent_workers=self.num_workers > 0,
        )
        if isinstance(self.dataset, IterableDataset):
            self._prepare_stream(world)
            # Fresh workers each epoch, so they see the shard order set by set_epoch.
            return DataLoader(self.dataset, **{**kwargs, "persistent_workers": False})
        self.sampler = ResumableSampler(
            len(self.dataset),  # type: ignore[arg-type]
            seed=self.seed,
            rank=rank,
            world_size=world,
            on_epoch=_epoch_hook(self.dataset),
        )
        if self._resume is not None:
            epoch, batches = self._resume["epoch"], self._resume["batches"]
            per_epoch = self.batches_per_epoch(world) or 0
            if batches >= per_epoch:  # saved at the end of an epoch: the next one starts fresh
                epoch, batches = epoch + 1, 0
            self.sampler.skip(batches * self.batch_size, epoch)
            self._resume = None
        return DataLoader(self.dataset, sampler=self.sampler, **kwargs)

    def _batched_stream(self, stream: ResumableStream, world: int) -> ResumableStream:
        """``stream``, told once how this DataLoader batches it on ``world`` ranks."""
        batching = Batching(self.batch_size, self.num_workers, world, self.epochs)
        if batching != self._batching:
            stream.set_batching(batching)
            self._batching = batching
        return stream

    def _prepare_stream(self, world: int) -> None:
        """Tell a resumable stream how it is batched; on a resume, continue its epoch mid-way
        if the DataLoader splits it as before (same ranks, workers and batch size)."""
        stream = self.dataset if isinstance(self.dataset, ResumableStream) else None
        if stream is not None:
            self._batched_stream(stream, world)
        if self._resume is None:
            return
        state, self._resume = self._resume, None
        epoch, batches = state["epoch"], state["batches"]
        now = {"world_size": world, "num_workers": self.num_workers, "batch_size": self.batch_size}
        changed = [f"{k} {state.get(k, v)} -> {v}" for k, v in now.items() if state.get(k, v) != v]
        if stream is None or changed:
            why = ", ".join(changed) if changed else "this source cannot skip what it delivered"
            log.warning("resumed epoch %d starts its data stream again (%s)", epoch, why)
            if stream is not None:
                stream.set_epoch(epoch)
            return
        if not stream.resume(epoch, batches):
            stream.set_epoch(epoch + 1)  # saved at the end of an epoch: the next one starts fresh

    def state_dict(self) -> dict[str, Any]:
        trainer: Any = self.trainer
        progress = trainer.fit_loop.epoch_loop.batch_progress.current
        return {
            "epoch": trainer.current_epoch,
            "batches": progress.processed,
            "world_size": trainer.world_size,
            "num_workers": self.num_workers,
            "batch_size": self.batch_size,
        }

    def load_state_dict(self, state_dict: dict[str, Any]) -> None:
        self._resume = {k: int(v) for k, v in state_dict.items()}


def _epoch_hook(dataset: Any) -> Callable[[int], None] | None:
    """The dataset's ``set_epoch`` (its items depend on the epoch), else None."""
    hook = getattr(dataset, "set_epoch", None)
    return hook if callable(hook) else None

"""Training data for the engine: a resumable sampler over an in-memory or lazy dataset."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import lightning as L
from torch.utils.data import DataLoader, Dataset, IterableDataset

from selfsup.engine.sampler import ResumableSampler


class SSLDataModule(L.LightningDataModule):
    """Serves the training split; its state (epoch, batches done) rides in every checkpoint."""

    def __init__(
        self,
        dataset: Dataset[Any],
        batch_size: int,
        num_workers: int,
        seed: int,
        collate_fn: Callable[[list[Any]], Any] | None = None,
    ) -> None:
        super().__init__()
        self.dataset = dataset
        self.batch_size = batch_size
        self.num_workers = num_workers
        self.seed = seed
        self.collate_fn = collate_fn
        self._resume: dict[str, int] | None = None
        self.sampler: ResumableSampler | None = None

    def batches_per_epoch(self, world_size: int) -> int | None:
        """Optimizer steps per epoch on each rank (None for streams of unknown length)."""
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
            # Fresh workers each epoch, so they see the shard order set by set_epoch.
            return DataLoader(self.dataset, **{**kwargs, "persistent_workers": False})
        self.sampler = ResumableSampler(
            len(self.dataset),  # type: ignore[arg-type]
            seed=self.seed,
            rank=rank,
            world_size=world,
        )
        if self._resume is not None:
            epoch, batches = self._resume["epoch"], self._resume["batches"]
            per_epoch = self.batches_per_epoch(world) or 0
            if batches >= per_epoch:  # saved at the end of an epoch: the next one starts fresh
                epoch, batches = epoch + 1, 0
            self.sampler.skip(batches * self.batch_size, epoch)
            self._resume = None
        return DataLoader(self.dataset, sampler=self.sampler, **kwargs)

    def state_dict(self) -> dict[str, Any]:
        trainer: Any = self.trainer
        progress = trainer.fit_loop.epoch_loop.batch_progress.current
        return {"epoch": trainer.current_epoch, "batches": progress.processed}

    def load_state_dict(self, state_dict: dict[str, Any]) -> None:
        self._resume = {"epoch": int(state_dict["epoch"]), "batches": int(state_dict["batches"])}

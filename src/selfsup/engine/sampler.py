"""A shuffling, rank-aware sampler that can resume mid-epoch."""

from __future__ import annotations

from collections.abc import Callable, Iterator

import torch
from torch.utils.data import Sampler


class ResumableSampler(Sampler[int]):
    """Per-epoch permutation from ``(seed, epoch)``, split across ranks, resumable mid-epoch.

    Each rank takes an equal-length strided slice of the permutation (the tail that does not
    divide evenly is dropped, so every rank runs the same number of steps and DDP never waits
    on a missing batch). ``skip(n)`` drops the first ``n`` indices of the current epoch once:
    the run restarts exactly where its checkpoint left off.

    ``on_epoch`` (a dataset's ``set_epoch``) hears the epoch each time iteration starts, before
    any index is handed out: items that depend on the epoch (audio crops) then follow the
    sampler's epoch, on a fresh start, at each new epoch and on a mid-epoch resume alike.
    """

    def __init__(
        self,
        length: int,
        seed: int = 0,
        shuffle: bool = True,
        rank: int = 0,
        world_size: int = 1,
        on_epoch: Callable[[int], None] | None = None,
    ) -> None:
        if length <= 0:
            raise ValueError("cannot sample from an empty dataset")
        if not 0 <= rank < world_size:
            raise ValueError(f"rank {rank} is outside world size {world_size}")
        self.length, self.seed, self.shuffle = length, seed, shuffle
        self.rank, self.world_size = rank, world_size
        self.epoch = 0
        self._skip = 0
        self.on_epoch = on_epoch

    def set_epoch(self, epoch: int) -> None:
        """Select the permutation of ``epoch`` (called by the trainer before each epoch)."""
        if epoch != self.epoch:
            self._skip = 0
        self.epoch = epoch

    def skip(self, n: int, epoch: int) -> None:
        """Resume ``epoch`` after its first ``n`` indices on this rank."""
        self.epoch, self._skip = epoch, n

    def __len__(self) -> int:
        return self.length // self.world_size

    def __iter__(self) -> Iterator[int]:
        if self.on_epoch is not None:
            self.on_epoch(self.epoch)
        if self.shuffle:
            g = torch.Generator().manual_seed(self.seed * 1_000_003 + self.epoch)
            order = torch.randperm(self.length, generator=g)
        else:
            order = torch.arange(self.length)
        mine = order[self.rank : len(self) * self.world_size : self.world_size]
        start, self._skip = self._skip, 0
        return iter(mine[start:].tolist())

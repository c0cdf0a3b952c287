"""How many batches each DataLoader worker of a shard stream delivers per epoch, and where each
stands after a given number of batches: the arithmetic behind equal epochs and resume.

A DataLoader over an iterable dataset asks its workers for batches in turn (0, 1, ..., W-1, 0,
...), skipping a worker once it has run out, and each worker batches its own samples (a last
partial batch is dropped). So the samples each worker holds fix how many batches a rank
delivers, in which order, and how many each worker had delivered after any number of them.

DDP ranks must run the same number of steps, but shards hold different sample counts, so an
epoch on every rank is cut to the smallest rank's batch count (the samples beyond it are left
for later epochs, which deal the shards differently). The functions here are free of I/O so
they can be tested alone.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Protocol, runtime_checkable


def owned_samples(counts: list[int], consumer: int, consumers: int) -> int:
    """Samples consumer ``consumer`` of ``consumers`` reads from shards of ``counts`` samples
    (in this epoch's order): the whole shards dealt to it round-robin, and every
    ``consumers``-th sample of the shards left over (see :mod:`selfsup.data.shards`)."""
    whole = (len(counts) // consumers) * consumers
    left = sum(counts[whole:])
    split = max(0, -(-(left - consumer) // consumers))  # i in [0, left) with i % C == consumer
    return sum(counts[consumer:whole:consumers]) + split


def delivered_batches(batches: list[int], consumed: int) -> tuple[list[int], int]:
    """(batches each worker had delivered, the worker asked next) once ``consumed`` batches
    came out of a DataLoader whose workers hold ``batches[w]`` batches each.

    ``consumed`` beyond the total means the epoch was over: every worker is spent.
    """
    workers = len(batches)
    done = [0] * workers
    last = workers - 1
    while consumed > 0:
        active = [w for w in range(workers) if done[w] < batches[w]]
        if not active:
            break
        rounds = min(min(batches[w] - done[w] for w in active), consumed // len(active))
        if rounds:  # whole rounds at once: every active worker delivers one batch per round
            for w in active:
                done[w] += rounds
            consumed -= rounds * len(active)
            last = active[-1]
            continue
        for w in active[:consumed]:  # a part round: fewer batches left than active workers
            done[w] += 1
            last = w
        consumed = 0
    return done, (last + 1) % workers


@dataclass(frozen=True)
class Batching:
    """How the engine's DataLoader batches a stream: ``batch_size`` with ``drop_last``, over
    ``num_workers`` worker processes (0: in the main process) on each of ``world_size`` ranks.
    ``epochs``: how many epochs the run has, if it counts epochs (it then gets one epoch
    length for all of them), else None (each epoch is as long as that epoch allows)."""

    batch_size: int
    num_workers: int
    world_size: int
    epochs: int | None = None

    @property
    def workers(self) -> int:
        """Consumers per rank: DataLoader workers, or the main process alone."""
        return max(1, self.num_workers)


def rank_batches(counts: list[int], batching: Batching) -> list[list[int]]:
    """Whole batches per rank per worker from shards of ``counts`` samples (epoch order)."""
    workers, consumers = batching.workers, batching.world_size * batching.workers
    return [
        [
            owned_samples(counts, r * workers + w, consumers) // batching.batch_size
            for w in range(workers)
        ]
        for r in range(batching.world_size)
    ]


def epoch_length(counts: list[int], batching: Batching) -> int:
    """Batches every rank delivers in an epoch: the smallest rank's count."""
    return min(sum(per_worker) for per_worker in rank_batches(counts, batching))


@runtime_checkable
class ResumableStream(Protocol):
    """An iterable dataset the engine batches itself, with equal epochs across ranks and a
    mid-epoch resume (``TarShardDataset`` is one)."""

    def set_batching(self, batching: Batching) -> None:
        """Batch as ``batching`` says from now on (and keep unusable samples' places)."""

    def batches_per_epoch(self) -> int:
        """Batches each rank delivers per epoch."""

    def set_epoch(self, epoch: int) -> None:
        """Select ``epoch``'s order for the next pass."""

    def resume(self, epoch: int, batches: int) -> bool:
        """Continue ``epoch`` after ``batches`` delivered batches; False if none are left."""

"""Where each DataLoader worker of a shard stream stands after a given number of batches.

A DataLoader over an iterable dataset asks its workers for batches in turn (0, 1, ..., W-1, 0,
...), skipping a worker once it has run out, and each worker batches its own samples (a last
partial batch is dropped). So the batches one rank has consumed fix how many each worker has
delivered, given how many samples each worker holds: that is what a mid-epoch resume skips.
The functions here are that arithmetic, kept free of I/O so they can be tested alone.
"""

from __future__ import annotations

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


@runtime_checkable
class ResumableStream(Protocol):
    """An iterable dataset the engine can resume mid-epoch (``TarShardDataset`` is one).

    The engine sets ``placeholders`` before the first epoch, so that unusable samples still
    take their place in a batch and batch counts map to stream positions.
    """

    placeholders: bool

    def set_epoch(self, epoch: int) -> None:
        """Select ``epoch``'s order for the next pass."""

    def resume(self, epoch: int, batches: int, batch_size: int, num_workers: int) -> bool:
        """Continue ``epoch`` after ``batches`` delivered batches; False if none are left."""

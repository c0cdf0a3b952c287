"""WebDataset-style tar shards read as an IterableDataset, resumable mid-epoch.

A shard is a plain tar; members sharing a key form a sample (see :mod:`selfsup.data.shard_tar`):
an image and optionally ``.cls`` with an integer label (else the label is -1). A folder with an
``index.json`` (written by ``selfsup shards make``) is read as the shards that index lists.

How an epoch is split among consumers (DDP ranks x DataLoader workers, ``C`` of them), so that
every sample is yielded once whatever ``C`` and the shard count are:

* The (possibly shuffled) shard list is dealt out whole, round-robin, as long as every consumer
  gets one more shard: with ``n`` shards, the first ``(n // C) * C`` go to consumers whole. Whole
  shards keep reads sequential and each header is read by one consumer only.
* The remaining ``n % C`` shards are split by sample: every consumer scans them and keeps
  samples ``i`` (counted across those shards) with ``i % C == its index``. Splitting only whole
  shards would leave some consumers idle or short (a DDP rank that runs out of batches first
  stalls the others); splitting everything by sample would make every consumer scan every
  shard's headers. Skipped samples are only seeked over, not read.

Each consumer then shuffles through a buffer of ``shuffle_buffer`` encoded samples drawn by an
RNG seeded with (seed, epoch, consumer), so an epoch's stream is a function of those alone.

Ranks come from ``rank``/``world_size`` if given, else from ``torch.distributed`` when it is
initialised. Call :meth:`TarShardDataset.set_epoch` before each epoch (in the main process,
with ``persistent_workers=False``) to reshuffle.

The engine also calls :meth:`TarShardDataset.set_batching`: every rank's epoch is then cut to
the same number of batches (the smallest rank's; DDP needs equal steps), so at most a few
samples per consumer wait for a later epoch, and :meth:`TarShardDataset.resume` continues an
epoch after the batches a DataLoader already delivered (docs/shards.md has the details).
"""

from __future__ import annotations

from collections.abc import Callable, Iterator
from dataclasses import dataclass

import numpy as np
import torch.distributed as dist
from torch.utils.data import IterableDataset, get_worker_info

from selfsup.data.collate import Item
from selfsup.data.decode import MAX_PIXELS, BadImage, decode_image
from selfsup.data.shard_index import resolve_shards, shard_sample_counts
from selfsup.data.shard_plan import Batching, delivered_batches, epoch_length, rank_batches
from selfsup.data.shard_tar import (
    UNREADABLE_SHARD,
    Sample,
    Stride,
    member_data,
    read_shard,
)
from selfsup.data.skips import SkipLog


@dataclass(frozen=True)
class _ResumePoint:
    """Samples each of this rank's consumers already delivered in ``epoch``, and which
    consumer the DataLoader's first worker must serve so batches keep their old order."""

    epoch: int
    workers: int
    consumed: list[int]
    rotation: int


class TarShardDataset(IterableDataset["Item | None"]):
    """Samples from tar shards, each yielded once per epoch across ranks and workers.

    ``shards``: a directory (the shards its ``index.json`` lists, else all ``*.tar`` in it), a
    glob, a file, or a list of those. ``size``: resize the shorter side and centre-crop (see
    :func:`decode_image`). ``shuffle``: shuffle shard order per epoch and samples through a
    buffer of ``shuffle_buffer`` encoded samples per consumer. Undecodable samples are left
    out, or yielded as ``None`` with ``placeholders`` (so a consumer's n-th item is always its
    n-th sample, which :meth:`resume` needs; :func:`~selfsup.data.collate.collate` drops them;
    :meth:`set_batching` turns them on). Each consumer logs one summary line of what it skipped
    at the end of its pass.
    """

    def __init__(
        self,
        shards: str | list[str],
        size: int | None = None,
        shuffle: bool = False,
        seed: int = 0,
        rank: int | None = None,
        world_size: int | None = None,
        shuffle_buffer: int = 1000,
        max_pixels: int = MAX_PIXELS,
        placeholders: bool = False,
    ) -> None:
        if (rank is None) != (world_size is None):
            raise ValueError("give both rank and world_size, or neither")
        if world_size is not None and rank is not None and not 0 <= rank < world_size:
            raise ValueError(f"rank must be in 0..{world_size - 1}, got {rank}")
        self.shards = resolve_shards(shards)
        self.size = size
        self.max_pixels = max_pixels
        self.shuffle = shuffle
        self.seed = seed
        self.shuffle_buffer = max(1, shuffle_buffer)
        self.placeholders = placeholders
        self.epoch = 0
        self._explicit = None if rank is None or world_size is None else (rank, world_size)
        self._dist = _dist_rank_world()
        self._resume: _ResumePoint | None = None
        self._batching: Batching | None = None
        self._counts: dict[str, int] = {}
        self._fixed_length: int | None = None

    def set_epoch(self, epoch: int) -> None:
        """Use ``epoch``'s shard order (and shuffle-buffer seed) from the next iteration on; a
        pending :meth:`resume` of another epoch is dropped."""
        if self._resume is not None and self._resume.epoch != epoch:
            self._resume = None
        self.epoch = epoch
        self._dist = _dist_rank_world() or self._dist

    def set_batching(self, batching: Batching) -> None:
        """Batch as a DataLoader with ``batching`` does: from now on every rank's epoch is
        :meth:`batches_per_epoch` batches (each worker stops at its share), unusable samples
        keep their places (``placeholders``), and :meth:`resume` can place a stream.

        Reads the sample counts once (from ``index.json``, else from the shard headers).
        """
        if self._explicit is not None and self._explicit[1] != batching.world_size:
            raise ValueError(
                f"batching for {batching.world_size} ranks, dataset of {self._explicit[1]}"
            )
        self._batching = batching
        self.placeholders = True
        self._counts = shard_sample_counts(self.shards)
        self._fixed_length = None
        if batching.epochs:  # one length for all epochs, so a schedule can count on it
            self._fixed_length = min(self._length(e, batching) for e in range(batching.epochs))

    def batches_per_epoch(self) -> int:
        """Batches each rank delivers in the current epoch (the same for every epoch when
        :meth:`set_batching` knew the epoch count)."""
        batching = self._need_batching("batches_per_epoch")
        if self._fixed_length is not None:
            return self._fixed_length
        return self._length(self.epoch, batching)

    def resume(self, epoch: int, batches: int) -> bool:
        """Continue ``epoch`` after the first ``batches`` batches this rank's DataLoader
        delivered (batched as :meth:`set_batching` says).

        The next pass skips, per consumer, the samples those batches held, without decoding
        them (only shard headers are read), and keeps the order batches would have come in.
        Returns False when those batches were the whole epoch.
        """
        batching = self._need_batching("resume")
        self.set_epoch(epoch)
        limits = self._worker_batches(epoch, batching)
        done, rotation = delivered_batches(limits, batches)
        consumed = [d * batching.batch_size for d in done]
        self._resume = _ResumePoint(epoch, batching.workers, consumed, rotation)
        return any(d < n for d, n in zip(done, limits, strict=True))

    def __iter__(self) -> Iterator[Item | None]:
        rank, world = self._rank_world()
        info = get_worker_info()
        workers, worker = (info.num_workers, info.id) if info is not None else (1, 0)
        point = self._resume
        if point is None or point.epoch != self.epoch or point.workers != workers:
            point = _ResumePoint(self.epoch, workers, [0] * workers, 0)
        local = (worker + point.rotation) % workers
        consumer, consumers = rank * workers + local, world * workers
        stop = None
        batching = self._batching
        if batching is not None and batching.workers == workers:
            stop = self._worker_batches(self.epoch, batching)[local] * batching.batch_size
        yield from self._stream(consumer, consumers, point.consumed[local], stop)

    def shard_order(self, epoch: int | None = None) -> list[str]:
        """The shard order of ``epoch`` (default: the current one), shuffled by (seed, epoch)
        when ``shuffle``."""
        if not self.shuffle:
            return list(self.shards)
        epoch = self.epoch if epoch is None else epoch
        perm = np.random.default_rng([self.seed, epoch]).permutation(len(self.shards))
        return [self.shards[i] for i in perm]

    def _length(self, epoch: int, batching: Batching) -> int:
        return epoch_length([self._counts[p] for p in self.shard_order(epoch)], batching)

    def _worker_batches(self, epoch: int, batching: Batching) -> list[int]:
        """Batches each of this rank's workers delivers in ``epoch``: its whole batches, cut
        so that the rank delivers the epoch length (in the DataLoader's turn order)."""
        counts = [self._counts[p] for p in self.shard_order(epoch)]
        rank, _ = self._rank_world()
        mine = rank_batches(counts, batching)[rank]
        length = self._fixed_length
        return delivered_batches(
            mine, length if length is not None else self._length(epoch, batching)
        )[0]

    def _need_batching(self, what: str) -> Batching:
        if self._batching is None:
            raise ValueError(f"{what} needs set_batching first: it counts in the engine's batches")
        return self._batching

    def _stream(
        self, consumer: int, consumers: int, skip: int, stop: int | None
    ) -> Iterator[Item | None]:
        """Consumer ``consumer``'s samples in shuffled order, after its first ``skip`` and up
        to its ``stop``-th (all when None)."""
        skips = SkipLog("samples")
        seen = [0]
        replaying = [skip > 0]  # locate, not read, what is read while replaying skipped samples
        samples = self._owned_samples(consumer, consumers, skips, seen, lambda: replaying[0])
        rng = np.random.default_rng([self.seed, self.epoch, consumer])
        for popped, sample in enumerate(self._shuffled(samples, rng), start=1):
            if stop is not None and popped > stop:
                break
            if popped <= skip:
                replaying[0] = popped < skip
                continue
            item = self._decode(sample, skips)
            if item is not None or self.placeholders:
                yield item
        skips.report(seen[0] + skips.counts[UNREADABLE_SHARD])

    def _shuffled(self, samples: Iterator[Sample], rng: np.random.Generator) -> Iterator[Sample]:
        if not self.shuffle:
            yield from samples
            return
        buffer: list[Sample] = []
        for sample in samples:
            buffer.append(sample)
            if len(buffer) >= self.shuffle_buffer:
                yield _pop_random(buffer, rng)
        while buffer:
            yield _pop_random(buffer, rng)

    def _owned_samples(
        self,
        consumer: int,
        consumers: int,
        skips: SkipLog,
        seen: list[int],
        lazy: Callable[[], bool],
    ) -> Iterator[Sample]:
        order = self.shard_order()
        whole = (len(order) // consumers) * consumers
        # Whole shards first; then the leftover ones, split by a sample count they share.
        parts: list[tuple[str, Stride | None]] = [
            (s, None) for s in order[consumer:whole:consumers]
        ]
        stride = Stride([0], consumer, consumers)
        parts += [(shard, stride) for shard in order[whole:]]
        offsets = self._offsets()
        for shard, split in parts:
            for sample in read_shard(shard, split, skips, lazy):
                seen[0] += 1
                sample.position += offsets.get(shard, 0)
                yield sample

    def _offsets(self) -> dict[str, int]:
        """Where each shard's samples start in one numbering of the whole set (shards in the
        set's order), so a sample's ``index`` names it across epochs and shuffles; empty until the
        counts are read (:meth:`set_batching`)."""
        if not self._counts:
            return {}
        starts = np.cumsum([0] + [self._counts[s] for s in self.shards[:-1]])
        return {s: int(start) for s, start in zip(self.shards, starts, strict=True)}

    def _decode(self, sample: Sample, skips: SkipLog) -> Item | None:
        if sample.image is None:
            skips.add(sample.key, "no image")
            return None
        try:
            data = member_data(sample.image)
            label_text = None if sample.label_text is None else member_data(sample.label_text)
        except OSError as err:
            skips.add(f"{sample.key} ({err})", "unreadable")
            return None
        label = -1
        if label_text is not None:
            try:
                label = int(label_text.decode("utf-8").strip())
            except ValueError:
                skips.add(sample.key, "bad label")
                return None
        try:
            image = decode_image(data, self.size, self.max_pixels)
        except BadImage as bad:
            skips.add(sample.key, bad.reason)
            return None
        item: Item = {"input": image, "label": label}
        if self._counts:
            item["index"] = sample.position
        return item

    def _rank_world(self) -> tuple[int, int]:
        return self._explicit or _dist_rank_world() or self._dist or (0, 1)


def _pop_random(buffer: list[Sample], rng: np.random.Generator) -> Sample:
    i = int(rng.integers(len(buffer)))
    buffer[i], buffer[-1] = buffer[-1], buffer[i]
    return buffer.pop()


def _dist_rank_world() -> tuple[int, int] | None:
    if dist.is_available() and dist.is_initialized():
        return dist.get_rank(), dist.get_world_size()
    return None

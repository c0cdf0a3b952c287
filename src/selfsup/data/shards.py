"""WebDataset-style tar shards read as an IterableDataset, resumable mid-epoch.

A shard is a plain tar; members sharing a key form a sample (see :mod:`selfsup.data.shard_tar`):
an image and optionally ``.cls`` with an integer label (else the label is -1). A folder with an
``index.json`` (written by ``selfsup shards make``) is read as the shards that index lists.

How an epoch is split among consumers (DDP ranks x DataLoader workers, ``C`` of them), so that
every sample is yielded exactly once whatever ``C`` and the shard count are:

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
with ``persistent_workers=False``) to reshuffle. :meth:`TarShardDataset.resume` continues an
epoch after the batches a DataLoader already delivered (docs/shards.md has the details).
"""

from __future__ import annotations

import glob
import logging
import os
from collections.abc import Callable, Iterator
from dataclasses import dataclass

import numpy as np
import torch.distributed as dist
from torch.utils.data import IterableDataset, get_worker_info

from selfsup.data.collate import Item
from selfsup.data.decode import MAX_PIXELS, BadImage, decode_image
from selfsup.data.shard_index import read_index
from selfsup.data.shard_resume import delivered_batches, owned_samples
from selfsup.data.shard_tar import (
    UNREADABLE_SHARD,
    Sample,
    Stride,
    count_samples,
    member_data,
    read_shard,
)
from selfsup.data.skips import SkipLog

logger = logging.getLogger("selfsup.data")


@dataclass(frozen=True)
class _ResumePoint:
    """Samples each of this rank's consumers already delivered in ``epoch``, and which
    consumer the DataLoader's first worker must serve so batches keep their old order."""

    epoch: int
    workers: int
    consumed: list[int]
    rotation: int


class TarShardDataset(IterableDataset["Item | None"]):
    """Samples from tar shards, each yielded exactly once per epoch across ranks and workers.

    ``shards``: a directory (the shards its ``index.json`` lists, else all ``*.tar`` in it), a
    glob, a file, or a list of those. ``size``: resize the shorter side and centre-crop (see
    :func:`decode_image`). ``shuffle``: shuffle shard order per epoch and samples through a
    buffer of ``shuffle_buffer`` encoded samples per consumer. Undecodable samples are left
    out, or yielded as ``None`` with ``placeholders`` (so a consumer's n-th item is always its
    n-th sample, which :meth:`resume` needs; :func:`~selfsup.data.collate.collate` drops them).
    Each consumer logs one summary line of what it skipped at the end of its pass.
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

    def set_epoch(self, epoch: int) -> None:
        """Use ``epoch``'s shard order (and shuffle-buffer seed) from the next iteration on; a
        pending :meth:`resume` of another epoch is dropped."""
        if self._resume is not None and self._resume.epoch != epoch:
            self._resume = None
        self.epoch = epoch
        self._dist = _dist_rank_world() or self._dist

    def resume(self, epoch: int, batches: int, batch_size: int, num_workers: int) -> bool:
        """Continue ``epoch`` after the first ``batches`` batches that a DataLoader with
        ``batch_size``, ``num_workers`` and ``drop_last=True`` delivered on this rank.

        The next pass skips, per consumer, the samples those batches held, without decoding
        them (only shard headers are read), and keeps the order batches would have come in.
        Needs ``placeholders``. Returns False when those batches were the whole epoch.
        """
        if not self.placeholders:
            raise ValueError("resume needs placeholders=True: skipped samples must keep places")
        self.set_epoch(epoch)
        rank, world = self._rank_world()
        workers = max(1, num_workers)
        order = self.shard_order()
        counts = shard_sample_counts(order)
        per_consumer = [counts[path] for path in order]
        owned = [
            owned_samples(per_consumer, rank * workers + w, world * workers) for w in range(workers)
        ]
        done, rotation = delivered_batches([n // batch_size for n in owned], batches)
        self._resume = _ResumePoint(epoch, workers, [d * batch_size for d in done], rotation)
        return any(d < n // batch_size for d, n in zip(done, owned, strict=True))

    def __iter__(self) -> Iterator[Item | None]:
        rank, world = self._rank_world()
        info = get_worker_info()
        workers, worker = (info.num_workers, info.id) if info is not None else (1, 0)
        point = self._resume
        if point is None or point.epoch != self.epoch or point.workers != workers:
            point = _ResumePoint(self.epoch, workers, [0] * workers, 0)
        local = (worker + point.rotation) % workers
        consumer, consumers = rank * workers + local, world * workers
        yield from self._stream(consumer, consumers, point.consumed[local])

    def shard_order(self) -> list[str]:
        """This epoch's shard order (shuffled by (seed, epoch) when ``shuffle``)."""
        if not self.shuffle:
            return list(self.shards)
        perm = np.random.default_rng([self.seed, self.epoch]).permutation(len(self.shards))
        return [self.shards[i] for i in perm]

    def _stream(self, consumer: int, consumers: int, skip: int) -> Iterator[Item | None]:
        """Consumer ``consumer``'s samples in shuffled order, after its first ``skip``."""
        skips = SkipLog("samples")
        seen = [0]
        replaying = [skip > 0]  # locate, not read, what is read while replaying skipped samples
        samples = self._owned_samples(consumer, consumers, skips, seen, lambda: replaying[0])
        rng = np.random.default_rng([self.seed, self.epoch, consumer])
        for popped, sample in enumerate(self._shuffled(samples, rng), start=1):
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
        for shard, split in parts:
            for sample in read_shard(shard, split, skips, lazy):
                seen[0] += 1
                yield sample

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
        return {"input": image, "label": label}

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


def resolve_shards(shards: str | list[str]) -> list[str]:
    """Expand directories, globs and files to a sorted list of shard paths.

    A directory with an ``index.json`` gives the shards it lists (a listed shard that is
    missing is an error), else all its ``*.tar``. Sorted so every rank and worker sees the same
    list.
    """
    specs = [shards] if isinstance(shards, str) else list(shards)
    found: set[str] = set()
    for spec in specs:
        spec = os.path.expanduser(str(spec))
        if os.path.isdir(spec):
            found.update(_folder_shards(spec))
        elif glob.has_magic(spec):
            found.update(glob.glob(spec))
        elif os.path.isfile(spec):
            found.add(spec)
    if not found:
        raise ValueError(f"no .tar shards found at {shards}")
    return sorted(found)


def _folder_shards(folder: str) -> list[str]:
    index = read_index(folder)
    if index is None:
        return glob.glob(os.path.join(folder, "*.tar"))
    paths = [os.path.join(folder, shard.name) for shard in index.shards]
    missing = [p for p in paths if not os.path.isfile(p)]
    if missing:
        raise ValueError(
            f"{len(missing)} of the {len(paths)} shards listed in {folder}/index.json are "
            f"missing (first: {missing[0]}); rerun 'selfsup shards make' or restore them"
        )
    return paths


def shard_sample_counts(paths: list[str]) -> dict[str, int]:
    """Samples per shard: from the folder's ``index.json`` where it lists the shard with its
    current size, else counted from the shard's headers."""
    counts: dict[str, int] = {}
    indexes: dict[str, dict[str, tuple[int, int]]] = {}
    for path in paths:
        folder, name = os.path.split(path)
        if folder not in indexes:
            try:
                index = read_index(folder or ".")
            except ValueError:
                index = None
            entries = index.shards if index is not None else []
            indexes[folder] = {s.name: (s.samples, s.bytes) for s in entries}
        known = indexes[folder].get(name)
        if known is not None and _size(path) == known[1]:
            counts[path] = known[0]
        else:
            counts[path] = count_samples(path)
    return counts


def _size(path: str) -> int:
    try:
        return os.path.getsize(path)
    except OSError:
        return -1

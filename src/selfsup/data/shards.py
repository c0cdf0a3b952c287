"""WebDataset-style tar shards: read them as an IterableDataset, or write them.

A shard is a plain tar. Members that share a key (the path without its final extension) form
one sample: an image (``.jpg``/``.jpeg``/``.png``/``.webp``/``.bmp``) and optionally ``.cls``
holding an integer label (else the label is -1). Members of a sample must be adjacent, as
``tar`` writes them and :func:`write_shards` does.

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

Ranks come from ``rank``/``world_size`` if given, else from ``torch.distributed`` when it is
initialised. Call :meth:`TarShardDataset.set_epoch` before each epoch (in the main process,
with ``persistent_workers=False``) to reshuffle; the order is a function of (seed, epoch).
"""

from __future__ import annotations

import glob
import io
import itertools
import logging
import os
import tarfile
from collections.abc import Iterable, Iterator
from dataclasses import dataclass
from pathlib import Path

import numpy as np
import torch.distributed as dist
from torch.utils.data import IterableDataset, get_worker_info

from selfsup.data.collate import Item
from selfsup.data.decode import MAX_PIXELS, BadImage, decode_image
from selfsup.data.skips import SkipLog

logger = logging.getLogger("selfsup.data")

SHARD_IMAGE_EXTENSIONS = ("jpg", "jpeg", "png", "webp", "bmp")


@dataclass
class _Sample:
    key: str
    image: bytes | None
    label_text: bytes | None


class TarShardDataset(IterableDataset[Item]):
    """Samples from tar shards, each yielded exactly once per epoch across ranks and workers.

    ``shards``: a directory (all ``*.tar`` in it), a glob, a file, or a list of those.
    ``size``: resize the shorter side and centre-crop (see :func:`decode_image`).
    ``shuffle``: shuffle shard order per epoch and samples through a buffer of
    ``shuffle_buffer`` encoded samples per consumer. Undecodable samples are skipped; each
    consumer logs one summary line at the end of its pass.
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
        self.epoch = 0
        self._explicit = None if rank is None or world_size is None else (rank, world_size)
        self._dist = _dist_rank_world()

    def set_epoch(self, epoch: int) -> None:
        """Use ``epoch``'s shard order (and shuffle-buffer seed) from the next iteration on."""
        self.epoch = epoch
        self._dist = _dist_rank_world() or self._dist

    def __iter__(self) -> Iterator[Item]:
        consumer, consumers = self._consumer()
        skips = SkipLog("samples")
        seen = 0
        rng = np.random.default_rng([self.seed, self.epoch, consumer])
        buffer: list[_Sample] = []
        for sample in self._owned_samples(consumer, consumers, skips):
            seen += 1
            if not self.shuffle:
                item = self._decode(sample, skips)
                if item is not None:
                    yield item
                continue
            buffer.append(sample)
            if len(buffer) >= self.shuffle_buffer:
                item = self._decode(_pop_random(buffer, rng), skips)
                if item is not None:
                    yield item
        while buffer:
            item = self._decode(_pop_random(buffer, rng), skips)
            if item is not None:
                yield item
        skips.report(seen + skips.counts["unreadable shard"])

    def shard_order(self) -> list[str]:
        """This epoch's shard order (shuffled by (seed, epoch) when ``shuffle``)."""
        if not self.shuffle:
            return list(self.shards)
        perm = np.random.default_rng([self.seed, self.epoch]).permutation(len(self.shards))
        return [self.shards[i] for i in perm]

    def _consumer(self) -> tuple[int, int]:
        rank, world = self._explicit or _dist_rank_world() or self._dist or (0, 1)
        info = get_worker_info()
        workers, worker = (info.num_workers, info.id) if info is not None else (1, 0)
        return rank * workers + worker, world * workers

    def _owned_samples(self, consumer: int, consumers: int, skips: SkipLog) -> Iterator[_Sample]:
        order = self.shard_order()
        whole = (len(order) // consumers) * consumers
        for shard in order[consumer:whole:consumers]:
            yield from _read_shard(shard, None, skips)
        counter = [0]  # sample count across the leftover shards, shared by every consumer
        for shard in order[whole:]:
            yield from _read_shard(shard, (counter, consumer, consumers), skips)

    def _decode(self, sample: _Sample, skips: SkipLog) -> Item | None:
        if sample.image is None:
            skips.add(sample.key, "no image")
            return None
        label = -1
        if sample.label_text is not None:
            try:
                label = int(sample.label_text.decode("utf-8").strip())
            except ValueError:
                skips.add(sample.key, "bad label")
                return None
        try:
            image = decode_image(sample.image, self.size, self.max_pixels)
        except BadImage as bad:
            skips.add(sample.key, bad.reason)
            return None
        return {"input": image, "label": label}


def _read_shard(
    path: str, stride: tuple[list[int], int, int] | None, skips: SkipLog
) -> Iterator[_Sample]:
    """Samples of one shard; with ``stride`` (counter, keep, every) only every ``every``-th."""
    try:
        with tarfile.open(path, mode="r:") as tar:
            group: list[tarfile.TarInfo] = []
            for member in tar:
                if not member.isfile():
                    continue
                if group and _key(member.name) != _key(group[0].name):
                    sample = _take(tar, group, stride)
                    if sample is not None:
                        yield sample
                    group = []
                group.append(member)
            if group:
                sample = _take(tar, group, stride)
                if sample is not None:
                    yield sample
    except (tarfile.TarError, OSError, EOFError) as err:
        skips.add(f"{path} ({err})", "unreadable shard")


def _take(
    tar: tarfile.TarFile, group: list[tarfile.TarInfo], stride: tuple[list[int], int, int] | None
) -> _Sample | None:
    if stride is not None:
        counter, keep, every = stride
        index = counter[0]
        counter[0] += 1
        if index % every != keep:
            return None
    key = _key(group[0].name)
    image = label = None
    for member in group:
        ext = member.name.rsplit(".", 1)[-1].lower() if "." in member.name else ""
        if ext in SHARD_IMAGE_EXTENSIONS and image is None:
            image = _member_bytes(tar, member)
        elif ext == "cls":
            label = _member_bytes(tar, member)
    return _Sample(key, image, label)


def _member_bytes(tar: tarfile.TarFile, member: tarfile.TarInfo) -> bytes:
    file = tar.extractfile(member)
    if file is None:
        raise tarfile.TarError(f"cannot read member {member.name}")
    return file.read()


def _key(name: str) -> str:
    stem, dot, _ = name.rpartition(".")
    return stem if dot and "/" not in name[len(stem) :] else name


def _pop_random(buffer: list[_Sample], rng: np.random.Generator) -> _Sample:
    i = int(rng.integers(len(buffer)))
    buffer[i], buffer[-1] = buffer[-1], buffer[i]
    return buffer.pop()


def _dist_rank_world() -> tuple[int, int] | None:
    if dist.is_available() and dist.is_initialized():
        return dist.get_rank(), dist.get_world_size()
    return None


def resolve_shards(shards: str | list[str]) -> list[str]:
    """Expand directories (their ``*.tar``), globs and files to a sorted list of shard paths.

    Sorted so every rank and worker sees the same list.
    """
    specs = [shards] if isinstance(shards, str) else list(shards)
    found: set[str] = set()
    for spec in specs:
        spec = os.path.expanduser(str(spec))
        if os.path.isdir(spec):
            found.update(glob.glob(os.path.join(spec, "*.tar")))
        elif glob.has_magic(spec):
            found.update(glob.glob(spec))
        elif os.path.isfile(spec):
            found.add(spec)
    if not found:
        raise ValueError(f"no .tar shards found at {shards}")
    return sorted(found)


def write_shards(
    items: Iterable[tuple[bytes, str, int]],
    out_dir: str | Path,
    samples_per_shard: int,
    prefix: str = "shard",
) -> list[Path]:
    """Write ``(encoded image, extension, label)`` items into tar shards; return their paths.

    Keys are running numbers (``000000042``); ``label`` -1 writes no ``.cls``. Shards are named
    ``{prefix}-000000.tar`` ... and are byte-for-byte reproducible (fixed mtimes and owners).
    """
    if samples_per_shard < 1:
        raise ValueError(f"samples_per_shard must be >= 1, got {samples_per_shard}")
    out = Path(out_dir)
    out.mkdir(parents=True, exist_ok=True)
    written: list[Path] = []
    index = 0
    iterator = iter(items)
    for first in iterator:  # one pass per shard; the inner loop takes the rest of its items
        written.append(out / f"{prefix}-{len(written):06d}.tar")
        with tarfile.open(written[-1], mode="w", format=tarfile.USTAR_FORMAT) as tar:
            rest = itertools.islice(iterator, samples_per_shard - 1)
            for data, ext, label in itertools.chain([first], rest):
                ext = ext.lower().lstrip(".")
                if ext not in SHARD_IMAGE_EXTENSIONS:
                    raise ValueError(
                        f"image extension must be one of {', '.join(SHARD_IMAGE_EXTENSIONS)}, "
                        f"got '{ext}'"
                    )
                key = f"{index:09d}"
                _add_member(tar, f"{key}.{ext}", data)
                if label != -1:
                    _add_member(tar, f"{key}.cls", str(int(label)).encode())
                index += 1
    return written


def _add_member(tar: tarfile.TarFile, name: str, data: bytes) -> None:
    info = tarfile.TarInfo(name)
    info.size = len(data)
    info.mode = 0o644
    info.mtime = 0
    tar.addfile(info, io.BytesIO(data))

"""Embed every item of a source into part files, streaming, and resume after a kill.

Items are split into parts of ``part_size`` consecutive indices; part ``k`` covers indices
``[k * part_size, (k + 1) * part_size)``. One DataLoader reads the unfinished parts lazily,
in batches that never cross a part boundary, so a resumed run forms exactly the batches an
uninterrupted run would (the vectors come out bit for bit the same on the same machine).
Memory holds one part's vectors at most: each part is written, then recorded in the
manifest, before the next one grows.
"""

from __future__ import annotations

import dataclasses
import functools
import math
import time
from collections.abc import Callable, Iterator, Mapping
from pathlib import Path
from typing import Any

import numpy as np
import torch
from torch.utils.data import DataLoader, Sampler

from selfsup.data.collate import Batch, Item
from selfsup.data.item_sources import ItemSource, collate_source_items
from selfsup.data.skips import SkipLog
from selfsup.eval.embed_manifest import Manifest
from selfsup.eval.embed_parts import PartRows, require_format, write_part
from selfsup.eval.embed_progress import ItemProgress

Encode = Callable[[torch.Tensor], torch.Tensor]


@dataclasses.dataclass(frozen=True)
class EmbedOptions:
    """How to embed: output ``format`` (parquet or npy), items per part, batching, device,
    whether to keep labels, whether to replace an existing output, and how often (seconds)
    to print a progress line when not on a terminal (``tty``: None asks stderr)."""

    format: str = "parquet"
    part_size: int = 10_000
    batch_size: int = 256
    num_workers: int = 0
    device: str = "cpu"
    labels: bool = True
    overwrite: bool = False
    progress_every: float = 10.0
    tty: bool | None = None

    def check(self) -> None:
        """Refuse impossible settings with a ValueError."""
        require_format(self.format)
        if self.part_size < 1 or self.batch_size < 1 or self.num_workers < 0:
            raise ValueError("--part-size and --batch-size must be >= 1, --num-workers >= 0")


@dataclasses.dataclass(frozen=True)
class EmbedResult:
    """What a run left in ``out``: rows written over all parts, items read by this run, parts
    kept from an earlier run, the vector size, and the one-line skip summary (None when
    nothing was skipped)."""

    out: Path
    items: int
    rows: int
    read: int
    parts: int
    kept_parts: int
    dim: int | None
    seconds: float
    skipped: str | None


class PartBatches(Sampler[list[int]]):
    """Batches of indices over the given ``(start, stop)`` parts, none crossing a part end."""

    def __init__(self, parts: list[tuple[int, int]], batch_size: int) -> None:
        self.parts, self.batch_size = parts, batch_size

    def __iter__(self) -> Iterator[list[int]]:
        for start, stop in self.parts:
            for i in range(start, stop, self.batch_size):
                yield list(range(i, min(i + self.batch_size, stop)))

    def __len__(self) -> int:
        return sum(math.ceil((stop - start) / self.batch_size) for start, stop in self.parts)


def embed_to_folder(
    encode: Encode,
    source: ItemSource,
    out: str | Path,
    checkpoint: Mapping[str, Any],
    options: EmbedOptions,
    about: Mapping[str, Any] | None = None,
    shape_hint: str = "",
    collate_items: Callable[[list[Item]], Batch] | None = None,
) -> EmbedResult:
    """Embed every item of ``source`` with ``encode`` (raw batch -> ``[B, D]``, run under
    ``torch.inference_mode``; put its modules in eval mode first) into part files in ``out``.

    ``checkpoint`` identifies the weights (``sha256``, ``path``); ``about`` adds facts on the
    source to the manifest (the spec as typed, the modality); ``collate_items`` batches items
    (the modality's ``collate``; default: stacking). Parts an earlier run of the same
    checkpoint, source and settings finished are kept; see :class:`Manifest` for refusals.
    """
    options.check()
    began = time.monotonic()
    out = Path(out)
    keep_labels = options.labels and source.has_labels
    settings = {"format": options.format, "part_size": options.part_size, "labels": keep_labels}
    manifest = Manifest.open(
        out, checkpoint, {**(about or {}), **source.identity()}, settings, options.overwrite
    )
    manifest.data.setdefault("classes", source.classes if keep_labels else [])
    size = options.part_size
    n_parts = math.ceil(len(source) / size)
    kept = manifest.done()
    todo = [(k * size, min((k + 1) * size, len(source))) for k in range(n_parts) if k not in kept]
    loader = DataLoader(
        source,
        batch_sampler=PartBatches(todo, options.batch_size),
        num_workers=options.num_workers,
        collate_fn=functools.partial(
            collate_source_items, shape_hint=shape_hint, collate_items=collate_items
        ),
    )
    writer = _PartWriter(manifest, source, options.format, keep_labels)
    device = torch.device(options.device)
    progress = ItemProgress(sum(b - a for a, b in todo), options.progress_every, tty=options.tty)
    with progress, torch.inference_mode():
        for batch in loader:
            if batch["error"]:
                raise ValueError(batch["error"])
            writer.start(batch["first"] // size, size)
            writer.add(batch, _encode_batch(encode, batch, device))
            if batch["last"] + 1 == writer.bounds[1]:
                writer.flush()  # the part is whole: write it before reading on
            progress.advance(len(batch["index"]) + len(batch["skipped"]))
    writer.flush()
    manifest.finish()
    skips = _skip_log(source, manifest)
    return EmbedResult(
        out=out,
        items=len(source),
        rows=int(manifest.data["rows"]),
        read=progress.done,
        parts=n_parts,
        kept_parts=len(kept),
        dim=manifest.data["dim"],
        seconds=time.monotonic() - began,
        skipped=skips.summary(len(source) + source.listing_skips.skipped),
    )


def _encode_batch(encode: Encode, batch: dict[str, Any], device: torch.device) -> np.ndarray:
    """float32 ``[B, D]`` vectors of a batch's readable items (``[0, 0]`` when none read)."""
    b = len(batch["index"])
    if b == 0:
        return np.zeros((0, 0), dtype=np.float32)
    z = encode(batch["input"].to(device))
    if not isinstance(z, torch.Tensor) or z.ndim != 2 or z.shape[0] != b:
        shape = tuple(z.shape) if isinstance(z, torch.Tensor) else type(z).__name__
        raise ValueError(f"encode must return [B, D] for a batch of {b}, got {shape}")
    return z.detach().float().cpu().numpy()


class _PartWriter:
    """Gathers one part's rows, then writes the part and records it in the manifest."""

    def __init__(self, manifest: Manifest, source: ItemSource, fmt: str, labels: bool) -> None:
        self.manifest, self.source, self.fmt, self.labels = manifest, source, fmt, labels
        self.part: int | None = None
        self.bounds = (0, 0)
        self._reset()

    def _reset(self) -> None:
        self.index: list[np.ndarray] = []
        self.vectors: list[np.ndarray] = []
        self.label_rows: list[np.ndarray] = []
        self.skips = SkipLog(self.source.noun)

    def start(self, part: int, size: int) -> None:
        """Begin part ``part`` unless it is the current one (flushing the previous one)."""
        if part == self.part:
            return
        self.flush()
        self.part = part
        self.bounds = (part * size, min((part + 1) * size, len(self.source)))

    def add(self, batch: dict[str, Any], vectors: np.ndarray) -> None:
        """Keep a batch's rows; count its skipped items."""
        for index, reason in batch["skipped"]:
            self.skips.add(self.source.item_id(index), reason)
        if len(vectors):
            self.index.append(batch["index"].numpy())
            self.vectors.append(vectors)
            self.label_rows.append(batch["label"].numpy())

    def flush(self) -> None:
        """Write the current part (if any) and record it."""
        if self.part is None:
            return
        rows, files, dim = 0, [], None
        if self.vectors:
            index = np.concatenate(self.index)
            vectors = np.concatenate(self.vectors)
            labels = np.concatenate(self.label_rows) if self.labels else None
            ids = [self.source.item_id(int(i)) for i in index]
            files = write_part(
                self.manifest.out, self.part, self.fmt, PartRows(index, ids, vectors, labels)
            )
            rows, dim = len(ids), int(vectors.shape[1])
        start, stop = self.bounds
        entry = {"part": self.part, "start": start, "stop": stop, "rows": rows, "files": files}
        entry.update(skipped=dict(self.skips.counts), examples=self.skips.examples)
        self.manifest.add_part(entry, dim)
        self.part = None
        self._reset()


def _skip_log(source: ItemSource, manifest: Manifest) -> SkipLog:
    """Items skipped while listing plus those skipped in every part, earlier runs' too."""
    log = SkipLog(source.noun)
    log.merge(source.listing_skips)
    for part in manifest.parts:
        part_log = SkipLog(source.noun)
        for reason, count in part.get("skipped", {}).items():
            part_log.counts[reason] += int(count)
        part_log.examples = list(part.get("examples", []))
        log.merge(part_log)
    return log

"""An image folder -> tar shards of about a given size, plus ``index.json``.

Class subfolders give the labels (``<key>.cls`` holds the class index; the index lists the
names), as :mod:`selfsup.data.folder_scan` reads folders. Every image is decoded once to check
it, so the shards hold only images the reader can use; the rest are skipped and counted in one
line. JPEG, PNG, WebP and BMP files are stored as they are; other formats (GIF, TIFF, PPM) are
stored as lossless PNG of the RGB image training would see.

Rerunning into the same folder is safe after a kill: the old index is removed first, shards
are written atomically, leftover temp files and shards beyond the new count are deleted, and
the new index is written last.
"""

from __future__ import annotations

import io
import os
from collections.abc import Iterator, Sequence
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from pathlib import Path

import numpy as np
from PIL import Image

from selfsup.data.decode import MAX_PIXELS, BadImage, decode_image
from selfsup.data.folder_scan import scan_image_folder
from selfsup.data.images import read_image_file
from selfsup.data.shard_index import INDEX_NAME, ShardIndex, write_index
from selfsup.data.shard_writer import (
    SHARD_IMAGE_EXTENSIONS,
    ShardWriter,
    remove_stale_files,
    sample_members,
)
from selfsup.data.skips import SkipLog

CHUNK = 256  # files checked in parallel before they are written in order


@dataclass(frozen=True)
class MadeShards:
    """What :func:`make_shards` wrote, and the skip summary line (None if nothing skipped)."""

    index: ShardIndex
    out_dir: Path
    skip_line: str | None


def make_shards(
    folder: str | Path,
    out_dir: str | Path,
    max_bytes: int,
    shuffle_seed: int | None = None,
    prefix: str = "shard",
    workers: int | None = None,
    max_pixels: int = MAX_PIXELS,
) -> MadeShards:
    """Write the images under ``folder`` into ``out_dir/{prefix}-000000.tar`` ... of at most
    ``max_bytes`` each, in folder order or shuffled by ``shuffle_seed``; keys are running
    numbers in shard order. Returns the index (also written to ``out_dir/index.json``).

    Shuffling here matters for class-sorted folders: a reader's shuffle buffer only mixes
    samples that are near each other in the shards.
    """
    listing = scan_image_folder(folder)
    order: Sequence[int] = range(len(listing.paths))
    if shuffle_seed is not None:
        order = np.random.default_rng(shuffle_seed).permutation(len(listing.paths)).tolist()
    out = Path(out_dir)
    out.mkdir(parents=True, exist_ok=True)
    (out / INDEX_NAME).unlink(missing_ok=True)  # it would vouch for shards about to change
    remove_stale_files(out, prefix, keep=2**31)  # temp files only: no shard number is that high
    skips = SkipLog("files")
    written = 0
    with ShardWriter(out, prefix, max_bytes=max_bytes) as writer:
        for index, result in _checked(listing.paths, order, workers or _threads(), max_pixels):
            if isinstance(result, BadImage):
                skips.add(listing.paths[index], result.reason)
                continue
            data, ext = result
            writer.add(f"{written:09d}", sample_members(data, ext, listing.labels[index]))
            written += 1
    line = skips.report(len(listing.paths))
    if not written:
        raise ValueError(f"none of the {len(listing.paths):,} image files under {folder} decode")
    remove_stale_files(out, prefix, keep=len(writer.written))
    made = ShardIndex(listing.classes, writer.written, skips.skipped)
    write_index(made, out)
    return MadeShards(made, out, line)


def _checked(
    paths: list[str], order: Sequence[int], workers: int, max_pixels: int
) -> Iterator[tuple[int, tuple[bytes, str] | BadImage]]:
    """(index, (bytes, extension) or the reason it is unusable) for each path, in ``order``."""
    with ThreadPoolExecutor(max_workers=workers) as pool:  # decoders release the GIL
        for start in range(0, len(order), CHUNK):
            chunk = order[start : start + CHUNK]
            results = pool.map(lambda i: _prepare(paths[i], max_pixels), chunk)
            yield from zip(chunk, results, strict=True)


def _prepare(path: str, max_pixels: int) -> tuple[bytes, str] | BadImage:
    """The bytes to store and their extension, after one full decode proves them usable."""
    try:
        data = read_image_file(path)
        image = decode_image(data, None, max_pixels)
    except BadImage as bad:
        return bad
    ext = os.path.splitext(path)[1].lower().lstrip(".")
    ext = "jpg" if ext == "jpeg" else ext
    if ext in SHARD_IMAGE_EXTENSIONS:
        return data, ext
    buffer = io.BytesIO()
    Image.fromarray(image.permute(1, 2, 0).numpy()).save(buffer, "PNG")
    return buffer.getvalue(), "png"


def _threads() -> int:
    if hasattr(os, "sched_getaffinity"):
        return len(os.sched_getaffinity(0))
    return os.cpu_count() or 1

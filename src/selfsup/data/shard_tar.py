"""Read the samples of one tar shard: members that share a key form a sample.

The key of ``dir/000042.jpg`` is ``dir/000042`` (the name without its last extension). A sample
holds its image (``.jpg``/``.jpeg``/``.png``/``.webp``/``.bmp``) and optionally ``.cls``, an
integer label. Members of a sample must be adjacent, as ``tar`` and selfsup's writer put them.

A sample's data is read right away, or only located (a :class:`MemberRef`, read later by
:func:`member_data`): a resumed stream replays its consumed part by reading headers alone.
"""

from __future__ import annotations

from collections.abc import Callable, Iterator
from dataclasses import dataclass
from typing import BinaryIO

from selfsup.data.shard_writer import SHARD_IMAGE_EXTENSIONS, TAR_BLOCK
from selfsup.data.skips import SkipLog

UNREADABLE_SHARD = "unreadable shard"

_ZERO_BLOCK = bytes(TAR_BLOCK)
_REGULAR = (b"0", b"\0", b"7")  # regular file (old and new flags), contiguous file


@dataclass(frozen=True)
class MemberRef:
    """Where a member's data lies in a shard file."""

    path: str
    offset: int
    size: int


@dataclass
class Sample:
    """One sample's key, image and label text (bytes, a reference, or None when absent)."""

    key: str
    image: bytes | MemberRef | None
    label_text: bytes | MemberRef | None
    position: int = 0  # its place in the shard, 0 first: a stable id within a shard set


@dataclass
class Stride:
    """Keep only samples ``i`` with ``i % every == keep``, ``i`` counted in ``counter[0]`` over
    several shards (samples split across consumers instead of whole shards)."""

    counter: list[int]
    keep: int
    every: int

    def takes_next(self) -> bool:
        """Whether the next sample is kept (and count it)."""
        index = self.counter[0]
        self.counter[0] += 1
        return index % self.every == self.keep


def read_shard(
    path: str, stride: Stride | None, skips: SkipLog, lazy: Callable[[], bool] = lambda: False
) -> Iterator[Sample]:
    """The samples of shard ``path`` (with ``stride``, only the kept ones; the others are
    seeked over). ``lazy()`` is asked per sample: True locates its data instead of reading it.
    An unreadable or cut shard is counted in ``skips`` and ends early."""
    try:
        with open(path, "rb") as file:
            sample: Sample | None = None
            keep = located = False
            position = -1
            for name, offset, size in tar_members(file):
                key = key_of(name)
                if sample is None or key != sample.key:
                    if sample is not None and keep:
                        yield sample
                    position += 1
                    sample = Sample(key, None, None, position)
                    keep = stride is None or stride.takes_next()
                    located = keep and lazy()
                if not keep:
                    continue
                ext = name.rsplit(".", 1)[-1].lower() if "." in name else ""
                if ext == "cls" or (ext in SHARD_IMAGE_EXTENSIONS and sample.image is None):
                    data = MemberRef(path, offset, size) if located else _read_exact(file, size)
                    if ext == "cls":
                        sample.label_text = data
                    else:
                        sample.image = data
            if sample is not None and keep:
                yield sample
    except (BadShard, OSError) as err:
        skips.add(f"{path} ({err})", UNREADABLE_SHARD)


def count_samples(path: str) -> int:
    """Samples in shard ``path``, from its headers (those before any damage)."""
    count, last = 0, None
    try:
        with open(path, "rb") as file:
            for name, _, _ in tar_members(file):
                if key_of(name) != last:
                    count, last = count + 1, key_of(name)
    except (BadShard, OSError):
        pass
    return count


class BadShard(ValueError):
    """A tar header that is damaged or cut short."""


def tar_members(file: BinaryIO) -> Iterator[tuple[str, int, int]]:
    """(name, data offset, size) of each regular file in an uncompressed tar (ustar, GNU or
    pax names). When one is yielded the file is positioned at its data; the caller may read
    it or not. Ends at the end-of-archive blocks or at a clean end of file.

    A direct header parser rather than :mod:`tarfile`: on CIFAR-sized samples ``tarfile``'s
    per-member Python work took two thirds of the reading time (benchmarks/bench_shards.py).
    """
    position = 0
    long_name: str | None = None
    while True:
        file.seek(position)
        header = file.read(TAR_BLOCK)
        if not header or header == _ZERO_BLOCK:
            return
        if len(header) < TAR_BLOCK:
            raise BadShard(f"cut inside a header at byte {position}")
        _check_sum(header, position)
        size = _number(header[124:136])
        kind = header[156:157]
        start = position + TAR_BLOCK
        position = start + -(-size // TAR_BLOCK) * TAR_BLOCK
        if kind in (b"L", b"x"):  # the next member's long name: GNU, or a pax record
            text = _read_exact(file, size)
            long_name = _long_name(text, kind) or long_name
            continue
        name = long_name or _header_name(header)
        long_name = None
        if kind in _REGULAR:
            yield name, start, size


def _check_sum(header: bytes, position: int) -> None:
    stored = _number(header[148:156])
    unsigned = sum(header[:148]) + sum(header[156:]) + 8 * 32  # the field counts as spaces
    if stored == unsigned:
        return
    signed = sum(b - 256 if b > 127 else b for b in header[:148] + header[156:]) + 8 * 32
    if stored != signed:  # some old tars summed signed bytes; tarfile accepts either
        raise BadShard(f"bad header checksum at byte {position}")


def _number(field: bytes) -> int:
    if field[0] & 0x80:  # GNU base-256, for sizes of 8 GiB and more
        return int.from_bytes(field[1:], "big")
    digits = field.strip(b" \0")
    try:
        return int(digits, 8) if digits else 0
    except ValueError:
        raise BadShard(f"bad number field {field!r}") from None


def _header_name(header: bytes) -> str:
    name = header[:100].split(b"\0", 1)[0]
    if header[257:263] == b"ustar\x00":  # POSIX ustar: a prefix field holds leading folders
        prefix = header[345:500].split(b"\0", 1)[0]
        if prefix:
            name = prefix + b"/" + name
    return name.decode("utf-8", "surrogateescape")


def _long_name(data: bytes, kind: bytes) -> str | None:
    if kind == b"L":
        return data.split(b"\0", 1)[0].decode("utf-8", "surrogateescape")
    for record in data.split(b"\n"):  # pax: "<length> key=value" records
        _, _, entry = record.partition(b" ")
        key, eq, value = entry.partition(b"=")
        if eq and key == b"path":
            return value.decode("utf-8", "surrogateescape")
    return None


def _read_exact(file: BinaryIO, size: int) -> bytes:
    data = file.read(size)
    if len(data) != size:
        raise BadShard("cut inside a member")
    return data


def member_data(data: bytes | MemberRef) -> bytes:
    """``data`` itself, or the bytes a reference points at (OSError if it cannot be read)."""
    if isinstance(data, bytes):
        return data
    with open(data.path, "rb") as file:
        file.seek(data.offset)
        read = file.read(data.size)
    if len(read) != data.size:
        raise OSError(f"{data.path} ends inside a member")
    return read


def key_of(name: str) -> str:
    """A member's sample key: its name without the last extension of its file name."""
    stem, dot, _ = name.rpartition(".")
    return stem if dot and "/" not in name[len(stem) :] else name

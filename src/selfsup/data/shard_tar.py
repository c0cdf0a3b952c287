"""Read the samples of one tar shard: members that share a key form a sample.

The key of ``dir/000042.jpg`` is ``dir/000042`` (the name without its last extension). A sample
holds its image (``.jpg``/``.jpeg``/``.png``/``.webp``/``.bmp``) and optionally ``.cls``, an
integer label. Members of a sample must be adjacent, as ``tar`` and selfsup's writer put them.

A sample's data is read right away, or only located (a :class:`MemberRef`, read later by
:func:`member_data`): a resumed stream replays its consumed part by reading headers alone.
"""

from __future__ import annotations

import tarfile
from collections.abc import Callable, Iterator
from dataclasses import dataclass

from selfsup.data.shard_writer import SHARD_IMAGE_EXTENSIONS
from selfsup.data.skips import SkipLog

UNREADABLE_SHARD = "unreadable shard"


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
    """The samples of shard ``path`` (with ``stride``, only the kept ones). ``lazy()`` is asked
    per sample: True locates its data instead of reading it. An unreadable or cut shard is
    counted in ``skips`` and ends early."""
    try:
        with tarfile.open(path, mode="r:") as tar:
            group: list[tarfile.TarInfo] = []
            for member in tar:
                if not member.isfile():
                    continue
                if group and key_of(member.name) != key_of(group[0].name):
                    if stride is None or stride.takes_next():
                        yield _sample(tar, path, group, lazy())
                    group = []
                group.append(member)
            if group and (stride is None or stride.takes_next()):
                yield _sample(tar, path, group, lazy())
    except (tarfile.TarError, OSError, EOFError) as err:
        skips.add(f"{path} ({err})", UNREADABLE_SHARD)


def count_samples(path: str) -> int:
    """Samples in shard ``path``, from its headers (0 if it cannot be read)."""
    count, last = 0, None
    try:
        with tarfile.open(path, mode="r:") as tar:
            for member in tar:
                if member.isfile() and key_of(member.name) != last:
                    count, last = count + 1, key_of(member.name)
    except (tarfile.TarError, OSError, EOFError):
        pass
    return count


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


def _sample(tar: tarfile.TarFile, path: str, group: list[tarfile.TarInfo], lazy: bool) -> Sample:
    image: bytes | MemberRef | None = None
    label: bytes | MemberRef | None = None
    for member in group:
        ext = member.name.rsplit(".", 1)[-1].lower() if "." in member.name else ""
        if ext in SHARD_IMAGE_EXTENSIONS and image is None:
            image = _locate(path, member) if lazy else _read(tar, member)
        elif ext == "cls":
            label = _locate(path, member) if lazy else _read(tar, member)
    return Sample(key_of(group[0].name), image, label)


def _locate(path: str, member: tarfile.TarInfo) -> MemberRef:
    return MemberRef(path, member.offset_data, member.size)


def _read(tar: tarfile.TarFile, member: tarfile.TarInfo) -> bytes:
    file = tar.extractfile(member)
    if file is None:
        raise tarfile.TarError(f"cannot read member {member.name}")
    return file.read()

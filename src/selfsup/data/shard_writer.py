"""Write WebDataset-style tar shards: numbered tars of samples, each shard written atomically.

A sample is a key and its members (``000000042.jpg``, ``000000042.cls``), written adjacently
as readers expect. A shard goes to a hidden temp file in the output folder and is renamed into
place when complete, so a killed writer leaves whole shards and temp files, never a half shard
that a reader would take for a whole one. Shards are byte-for-byte reproducible: fixed mtimes,
modes and owners.
"""

from __future__ import annotations

import io
import os
import tarfile
import tempfile
from collections.abc import Iterable
from dataclasses import dataclass
from pathlib import Path

SHARD_IMAGE_EXTENSIONS = ("jpg", "jpeg", "png", "webp", "bmp")
"""Member extensions read as a sample's image."""

TAR_BLOCK = 512
TAR_END = 2 * TAR_BLOCK  # the two zero blocks closing an archive
TAR_RECORD = 20 * TAR_BLOCK  # tarfile pads the archive to whole records


@dataclass(frozen=True)
class ShardInfo:
    """One written shard: file name, number of samples, size in bytes."""

    name: str
    samples: int
    bytes: int


def member_bytes(size: int) -> int:
    """Bytes a member of ``size`` bytes takes in a tar (header block + data padded to blocks)."""
    return TAR_BLOCK + -(-size // TAR_BLOCK) * TAR_BLOCK


class ShardWriter:
    """Add samples; a new shard starts when the current one would pass a size or count bound.

    ``max_bytes`` bounds a shard's file size (a single sample larger than it gets a shard of
    its own); ``max_samples`` bounds its sample count. Shards are ``{prefix}-000000.tar`` ...
    in ``out_dir``. Call :meth:`close` (or use as a context manager) to finish the last one.
    """

    def __init__(
        self,
        out_dir: str | Path,
        prefix: str = "shard",
        max_bytes: int | None = None,
        max_samples: int | None = None,
    ) -> None:
        if max_bytes is not None and max_bytes < 1:
            raise ValueError(f"max_bytes must be >= 1, got {max_bytes}")
        if max_samples is not None and max_samples < 1:
            raise ValueError(f"max_samples must be >= 1, got {max_samples}")
        self.out = Path(out_dir)
        self.out.mkdir(parents=True, exist_ok=True)
        self.prefix, self.max_bytes, self.max_samples = prefix, max_bytes, max_samples
        self.written: list[ShardInfo] = []
        self._tar: tarfile.TarFile | None = None
        self._tmp = ""
        self._samples = 0
        self._bytes = 0

    def add(self, key: str, members: list[tuple[str, bytes]]) -> None:
        """Write one sample: ``members`` are (extension, data) pairs stored as ``key.ext``."""
        size = sum(member_bytes(len(data)) for _, data in members)
        if self._tar is not None and self._full(size):
            self._finish()
        if self._tar is None:
            self._start()
        tar = self._tar
        assert tar is not None
        for ext, data in members:
            info = tarfile.TarInfo(f"{key}.{ext}")
            info.size, info.mode, info.mtime = len(data), 0o644, 0
            tar.addfile(info, io.BytesIO(data))
        self._samples += 1
        self._bytes += size

    def close(self) -> list[ShardInfo]:
        """Finish the current shard; return every shard written."""
        if self._tar is not None:
            self._finish()
        return list(self.written)

    def abort(self) -> None:
        """Drop the shard being written (its temp file), keeping the finished ones."""
        if self._tar is not None:
            self._tar.close()
            self._tar = None
            Path(self._tmp).unlink(missing_ok=True)

    def __enter__(self) -> ShardWriter:
        return self

    def __exit__(self, kind: object, value: object, traceback: object) -> None:
        if kind is None:
            self.close()
        else:
            self.abort()

    def _full(self, size: int) -> bool:
        if self.max_samples is not None and self._samples >= self.max_samples:
            return True
        if self.max_bytes is None:
            return False
        total = self._bytes + size + TAR_END
        return -(-total // TAR_RECORD) * TAR_RECORD > self.max_bytes

    def _start(self) -> None:
        name = self._name(len(self.written))
        fd, self._tmp = tempfile.mkstemp(prefix=f".{name}.", suffix=".tmp", dir=self.out)
        os.close(fd)
        # Open across add() calls; _finish or abort closes it.
        self._tar = tarfile.open(self._tmp, mode="w", format=tarfile.USTAR_FORMAT)  # noqa: SIM115
        self._samples = self._bytes = 0

    def _finish(self) -> None:
        assert self._tar is not None
        self._tar.close()
        self._tar = None
        with open(self._tmp, "rb+") as file:
            os.fsync(file.fileno())
        name = self._name(len(self.written))
        os.chmod(self._tmp, 0o644)  # mkstemp makes 0o600 files
        os.replace(self._tmp, self.out / name)
        self.written.append(ShardInfo(name, self._samples, os.path.getsize(self.out / name)))

    def _name(self, number: int) -> str:
        return f"{self.prefix}-{number:06d}.tar"


def remove_stale_files(out_dir: str | Path, prefix: str, keep: int) -> int:
    """Delete temp files of unfinished shards, and shards numbered ``keep`` or above (left by
    an earlier, longer write into the same folder); how many files were deleted."""
    out = Path(out_dir)
    stale = list(out.glob(f".{prefix}-*.tar.*.tmp"))
    for path in out.glob(f"{prefix}-*.tar"):
        number = path.name[len(prefix) + 1 : -len(".tar")]
        if number.isdigit() and len(number) == 6 and int(number) >= keep:
            stale.append(path)
    for path in stale:
        path.unlink(missing_ok=True)
    return len(stale)


def write_shards(
    items: Iterable[tuple[bytes, str, int]],
    out_dir: str | Path,
    samples_per_shard: int,
    prefix: str = "shard",
) -> list[Path]:
    """Write ``(encoded image, extension, label)`` items into tar shards; return their paths.

    Keys are running numbers (``000000042``); ``label`` -1 writes no ``.cls``. Shards are named
    ``{prefix}-000000.tar`` ... and are byte-for-byte reproducible.
    """
    if samples_per_shard < 1:
        raise ValueError(f"samples_per_shard must be >= 1, got {samples_per_shard}")
    with ShardWriter(out_dir, prefix, max_samples=samples_per_shard) as writer:
        for index, (data, ext, label) in enumerate(items):
            writer.add(f"{index:09d}", sample_members(data, ext, label))
    return [Path(out_dir) / shard.name for shard in writer.written]


def sample_members(data: bytes, ext: str, label: int) -> list[tuple[str, bytes]]:
    """The members of one image sample: the image, and ``.cls`` unless ``label`` is -1."""
    ext = ext.lower().lstrip(".")
    if ext not in SHARD_IMAGE_EXTENSIONS:
        raise ValueError(
            f"image extension must be one of {', '.join(SHARD_IMAGE_EXTENSIONS)}, got '{ext}'"
        )
    members = [(ext, data)]
    if label != -1:
        members.append(("cls", str(int(label)).encode()))
    return members

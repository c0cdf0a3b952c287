"""``index.json``: what a folder of shards holds (class names, shard names, sample counts);
and the shard list and sample counts a reader takes from a path, with or without an index.

``selfsup shards make`` writes it last, atomically, so its presence means every shard it lists
was written whole. Readers take the shard list of a folder from it (so stray ``.tar`` files
are ignored) and the sample counts (so a resume can place itself without reading the shards).
The file is untrusted input: it is plain JSON, checked field by field.
"""

from __future__ import annotations

import glob
import json
import os
import tempfile
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from selfsup.data.shard_tar import count_samples
from selfsup.data.shard_writer import ShardInfo

INDEX_NAME = "index.json"
FORMAT = "selfsup-shards"
VERSION = 1


@dataclass(frozen=True)
class ShardIndex:
    """Class names (label i is ``classes[i]``; empty when unlabelled), shards in order, and
    how many source files were skipped as unreadable when the shards were made."""

    classes: list[str]
    shards: list[ShardInfo]
    skipped: int = 0

    @property
    def samples(self) -> int:
        """Samples over all shards."""
        return sum(shard.samples for shard in self.shards)

    def to_dict(self) -> dict[str, Any]:
        """The JSON form."""
        return {
            "format": FORMAT,
            "version": VERSION,
            "classes": list(self.classes),
            "samples": self.samples,
            "skipped": self.skipped,
            "shards": [
                {"name": s.name, "samples": s.samples, "bytes": s.bytes} for s in self.shards
            ],
        }


def write_index(index: ShardIndex, directory: str | Path) -> Path:
    """Write ``directory/index.json`` atomically; return its path."""
    path = Path(directory) / INDEX_NAME
    fd, tmp = tempfile.mkstemp(prefix=f".{INDEX_NAME}.", suffix=".tmp", dir=path.parent)
    try:
        with os.fdopen(fd, "w", encoding="utf-8") as file:
            json.dump(index.to_dict(), file, indent=1)
            file.write("\n")
            file.flush()
            os.fsync(file.fileno())
        os.chmod(tmp, 0o644)
        os.replace(tmp, path)
    except BaseException:
        Path(tmp).unlink(missing_ok=True)
        raise
    return path


def read_index(directory: str | Path) -> ShardIndex | None:
    """The index of ``directory`` (None when it has none); ValueError, one line, if malformed."""
    path = Path(directory) / INDEX_NAME
    if not path.is_file():
        return None
    try:
        raw = json.loads(path.read_text(encoding="utf-8"))
        return _parse(raw)
    except (ValueError, TypeError, KeyError, UnicodeDecodeError) as err:
        raise ValueError(f"{path} is not a readable shard index ({err})") from None


def _parse(raw: Any) -> ShardIndex:
    if not isinstance(raw, dict) or raw.get("format") != FORMAT:
        raise ValueError(f'no \'"format": "{FORMAT}"\' field')
    if raw.get("version") != VERSION:
        raise ValueError(f"version {raw.get('version')!r}, this selfsup reads {VERSION}")
    classes = raw["classes"]
    if not isinstance(classes, list) or not all(isinstance(c, str) for c in classes):
        raise ValueError("'classes' must be a list of names")
    shards = []
    for entry in raw["shards"]:
        name, samples, size = entry["name"], entry["samples"], entry["bytes"]
        if not isinstance(name, str) or name in ("", ".", "..") or "/" in name or "\\" in name:
            raise ValueError(f"shard name {name!r} is not a file name")
        if not _count(samples) or not _count(size):
            raise ValueError(f"shard {name}: samples and bytes must be counts")
        shards.append(ShardInfo(name, samples, size))
    skipped = raw.get("skipped", 0)
    if not _count(skipped):
        raise ValueError("'skipped' must be a count")
    return ShardIndex(classes, shards, skipped)


def _count(value: Any) -> bool:
    return isinstance(value, int) and not isinstance(value, bool) and value >= 0


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

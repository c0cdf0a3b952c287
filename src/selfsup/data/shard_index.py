"""``index.json``: what a folder of shards holds (class names, shard names, sample counts).

``selfsup shards make`` writes it last, atomically, so its presence means every shard it lists
was written whole. Readers take the shard list of a folder from it (so stray ``.tar`` files
are ignored) and the sample counts (so a resume can place itself without reading the shards).
The file is untrusted input: it is plain JSON, checked field by field.
"""

from __future__ import annotations

import json
import os
import tempfile
from dataclasses import dataclass
from pathlib import Path
from typing import Any

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

"""``manifest.json`` of an embedding output: what was embedded, with what, and which parts are
done. It is rewritten atomically after every part, so it is the record a resumed run trusts.

A run into a folder that already has a manifest continues it when the checkpoint (by
sha256), the source (its identity: kind, path, split, size, item count and listing hash) and
the output settings (format, part size, labels) all match; otherwise it is refused with one
line, unless ``overwrite`` clears the old output first. See docs/embed.md for the fields.
"""

from __future__ import annotations

import json
from collections.abc import Mapping
from pathlib import Path
from typing import Any

from selfsup.eval.atomic_files import atomic_write, remove_stale_temporaries
from selfsup.registry import ConfigError

FORMAT = "selfsup.embed/1"
MANIFEST = "manifest.json"
SETTING_FLAGS = {"format": "--format", "part_size": "--part-size", "labels": "labels"}
INFORMATIONAL = ("spec",)
"""Source fields kept for the reader but not compared (the same folder, named differently)."""


class Manifest:
    """The manifest of one output folder; :meth:`open` creates, continues or refuses it."""

    def __init__(self, out: Path, data: dict[str, Any]) -> None:
        self.out = out
        self.data = data

    @classmethod
    def open(
        cls,
        out: Path,
        checkpoint: Mapping[str, Any],
        source: Mapping[str, Any],
        output: Mapping[str, Any],
        overwrite: bool = False,
    ) -> Manifest:
        """The manifest to continue in ``out``, or a new one (written at once)."""
        if out.exists() and not out.is_dir():
            raise ConfigError(f"--out {out} is a file; give a folder")
        out.mkdir(parents=True, exist_ok=True)
        if overwrite:
            clear_output(out)
        elif (out / MANIFEST).exists():
            existing = read_manifest(out)  # an unreadable one is refused; --overwrite replaces it
            _check_same(out, existing, checkpoint, source, output)
            remove_stale_temporaries(out)
            return cls(out, existing)
        elif any(out.iterdir()):
            raise ConfigError(
                f"{out} is not empty and holds no {MANIFEST}; give a new --out or pass --overwrite"
            )
        data: dict[str, Any] = {
            "format": FORMAT,
            "checkpoint": dict(checkpoint),
            "source": dict(source),
            "output": dict(output),
            "dim": None,
            "parts": [],
            "complete": False,
        }
        manifest = cls(out, data)
        manifest.write()
        return manifest

    @property
    def parts(self) -> list[dict[str, Any]]:
        """Finished parts, in part order."""
        parts: list[dict[str, Any]] = self.data["parts"]
        return parts

    def done(self) -> set[int]:
        """Numbers of the finished parts."""
        return {int(p["part"]) for p in self.parts}

    def add_part(self, entry: Mapping[str, Any], dim: int | None) -> None:
        """Record a finished part (its files already written) and save."""
        if dim is not None:
            if self.data["dim"] not in (None, dim):
                raise ValueError(
                    f"vectors of {dim} dims, but earlier parts have {self.data['dim']}"
                )
            self.data["dim"] = dim
        self.parts.append(dict(entry))
        self.parts.sort(key=lambda p: int(p["part"]))
        self.write()

    def finish(self) -> None:
        """Mark the output complete (every part written) and save."""
        self.data["complete"] = True
        self.data["rows"] = sum(int(p["rows"]) for p in self.parts)
        self.write()

    def write(self) -> None:
        """Save atomically: readers and resumed runs see the old manifest or the new one."""
        text = json.dumps(self.data, indent=1, ensure_ascii=False).encode("utf-8")
        atomic_write(self.out / MANIFEST, lambda f: f.write(text))


def read_manifest(out: str | Path) -> dict[str, Any]:
    """The parsed manifest of output folder ``out``; ValueError if absent or not one."""
    path = Path(out) / MANIFEST
    try:
        data = json.loads(path.read_text(encoding="utf-8"))
    except FileNotFoundError:
        raise ValueError(f"{out} holds no {MANIFEST}: not a selfsup embed output") from None
    except (OSError, UnicodeDecodeError, json.JSONDecodeError) as e:
        raise ValueError(f"{path} is unreadable ({e})") from None
    if not isinstance(data, dict) or data.get("format") != FORMAT:
        found = data.get("format") if isinstance(data, dict) else type(data).__name__
        raise ValueError(f"{path} is not a {FORMAT} manifest (format: {found})")
    return data


def clear_output(out: Path) -> None:
    """Remove what an embed run writes in ``out`` (manifest, parts, temporaries), nothing else."""
    for pattern in (MANIFEST, "part-*.parquet", "part-*.npy", "part-*.json"):
        for p in out.glob(pattern):
            p.unlink()
    remove_stale_temporaries(out)


def _check_same(
    out: Path,
    old: Mapping[str, Any],
    checkpoint: Mapping[str, Any],
    source: Mapping[str, Any],
    output: Mapping[str, Any],
) -> None:
    """One line naming the first difference between ``old`` and this run's settings."""
    hint = "pass --overwrite to replace them, or give another --out"
    was = old.get("checkpoint", {})
    if was.get("sha256") != checkpoint.get("sha256"):
        raise ConfigError(
            f"{out} holds embeddings of another checkpoint ({was.get('path')}, sha256 "
            f"{str(was.get('sha256'))[:12]}); {hint}"
        )
    before = old.get("source", {})
    for key in sorted(set(before) | set(source)):
        if key not in INFORMATIONAL and before.get(key) != source.get(key):
            raise ConfigError(
                f"{out} holds embeddings of another source (written from {before.get('spec')}, "
                f"whose {key} was "
                f"{_short(before.get(key))}, now {_short(source.get(key))}); {hint}"
            )
    settings = old.get("output", {})
    for key in sorted(set(settings) | set(output)):
        if settings.get(key) != output.get(key):
            flag = SETTING_FLAGS.get(key, key)
            raise ConfigError(
                f"{out} was written with {flag} {settings.get(key)} (now {output.get(key)}); "
                f"rerun with the same settings, or {hint}"
            )


def _short(value: Any) -> str:
    """A value for a one-line message: long strings (hashes, paths) cut to 40 characters."""
    text = str(value)
    return text if len(text) <= 40 else f"{text[:37]}..."

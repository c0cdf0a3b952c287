"""Read a manifest of paired items: a ``.tsv`` with a header row, or ``.jsonl`` objects.

Every row becomes a ``dict`` of column -> string. Lines that are not UTF-8, not JSON objects
or shorter than the header are skipped and counted into the caller's :class:`SkipLog`, as the
text readers count theirs; values are kept as written (paths stay relative to the manifest,
which :func:`resolve_path` joins).
"""

from __future__ import annotations

import json
import os
from pathlib import Path

from selfsup.data.skips import SkipLog
from selfsup.registry import ConfigError

NOT_UTF8 = "not UTF-8"
NOT_JSON = "not a JSON object"
SHORT_ROW = "fewer fields than the header"
MANIFEST_SUFFIXES = (".tsv", ".jsonl")


def read_manifest(path: str | Path, skips: SkipLog) -> list[dict[str, str]]:
    """The rows of ``path`` (``.tsv`` or ``.jsonl``) in file order; bad lines are counted
    into ``skips`` (their ``FILE:LINE`` among the examples)."""
    p = Path(path)
    if p.suffix not in MANIFEST_SUFFIXES:
        raise ConfigError(f"a pairs manifest is a .tsv or .jsonl file, got {p.name}")
    if not p.is_file():
        raise ConfigError(f"pairs manifest not found: {p}")
    raw = p.read_bytes().splitlines()
    lines: list[tuple[int, str]] = []
    for number, line in enumerate(raw, start=1):
        try:
            text = line.decode("utf-8").rstrip("\r")
        except UnicodeDecodeError:
            skips.add(f"{p.name}:{number}", NOT_UTF8)
            continue
        if text.strip():
            lines.append((number, text))
    if p.suffix == ".jsonl":
        return _jsonl_rows(p.name, lines, skips)
    return _tsv_rows(p.name, lines, skips)


def _jsonl_rows(name: str, lines: list[tuple[int, str]], skips: SkipLog) -> list[dict[str, str]]:
    rows = []
    for number, text in lines:
        try:
            obj = json.loads(text)
        except json.JSONDecodeError:
            obj = None
        if not isinstance(obj, dict):
            skips.add(f"{name}:{number}", NOT_JSON)
            continue
        # Numbers (labels) and strings alike become strings; nested values are not a column.
        rows.append({str(k): _scalar(v) for k, v in obj.items() if _scalar(v) is not None})
    return rows  # type: ignore[return-value]


def _scalar(value: object) -> str | None:
    if isinstance(value, bool) or value is None or isinstance(value, (list, dict)):
        return None
    return str(value)


def _tsv_rows(name: str, lines: list[tuple[int, str]], skips: SkipLog) -> list[dict[str, str]]:
    if not lines:
        return []
    header = lines[0][1].split("\t")
    rows = []
    for number, text in lines[1:]:
        fields = text.split("\t")
        if len(fields) < len(header):
            skips.add(f"{name}:{number}", SHORT_ROW)
            continue
        rows.append(dict(zip(header, fields, strict=False)))
    return rows


def resolve_path(manifest: str | Path, value: str) -> str:
    """A file named in a manifest: absolute as written, else relative to the manifest's folder."""
    return value if os.path.isabs(value) else os.path.join(os.path.dirname(manifest), value)

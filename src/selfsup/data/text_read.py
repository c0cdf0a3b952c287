"""Read text corpora line by line: strict UTF-8, bad lines skipped and counted, never replaced.

Readers take a :class:`SkipLog` and add one entry per skipped line (``path:line``), so a
corpus with a few broken lines trains, and the user hears about it in one summary line.
"""

from __future__ import annotations

import json
from collections.abc import Iterator
from pathlib import Path

from selfsup.data.skips import SkipLog

UNDECODABLE = "not UTF-8"
EMPTY = "empty"


def text_files(path: str | Path, suffix: str) -> list[Path]:
    """``path`` itself if it is a file, else every ``*suffix`` file under it, sorted."""
    p = Path(path)
    if p.is_file():
        return [p]
    if not p.exists():
        raise FileNotFoundError(f"text data not found: {p}")
    files = sorted(f for f in p.rglob(f"*{suffix}") if f.is_file())
    if not files:
        raise FileNotFoundError(f"no {suffix} files under {p}")
    return files


def read_lines(path: Path, skips: SkipLog, keep_empty: bool = False) -> Iterator[str]:
    """Decoded lines of ``path`` with their line endings; undecodable (and, unless
    ``keep_empty``, blank) lines are skipped into ``skips``."""
    with open(path, "rb") as f:
        for n, raw in enumerate(f, 1):
            try:
                line = raw.decode("utf-8")
            except UnicodeDecodeError:
                skips.add(f"{path}:{n}", UNDECODABLE)
                continue
            if not keep_empty and not line.strip():
                skips.add(f"{path}:{n}", EMPTY)
                continue
            yield line


def read_documents(path: Path, skips: SkipLog) -> Iterator[str]:
    """One document per non-empty line, line ending removed."""
    for line in read_lines(path, skips):
        yield line.rstrip("\r\n")


def read_jsonl(path: Path, field: str, skips: SkipLog) -> Iterator[str]:
    """The string ``field`` of each JSON line; bad JSON and missing/empty fields are skipped."""
    for n, line in enumerate(read_lines(path, skips), 1):
        try:
            value = json.loads(line).get(field)
        except (json.JSONDecodeError, AttributeError):
            skips.add(f"{path}:{n}", "not a JSON object")
            continue
        if not isinstance(value, str) or not value.strip():
            skips.add(f"{path}:{n}", f"no text in '{field}'")
            continue
        yield value


def read_tsv(
    path: Path,
    text_column: int | str,
    label_column: int | str | None,
    skips: SkipLog,
) -> Iterator[tuple[str, int]]:
    """``(text, label)`` rows of a TSV with a header; columns by header name or 0-based index.

    Rows with too few columns, empty text or a non-integer label are skipped; label -1 when
    ``label_column`` is None.
    """
    lines = read_lines(path, skips)
    header = next(lines, "").rstrip("\r\n").split("\t")
    text_i = _column(header, text_column, path)
    label_i = None if label_column is None else _column(header, label_column, path)
    for n, line in enumerate(lines, 2):
        cells = line.rstrip("\r\n").split("\t")
        if max(text_i, label_i or 0) >= len(cells) or not cells[text_i].strip():
            skips.add(f"{path}:{n}", "missing column")
            continue
        label = -1
        if label_i is not None:
            try:
                label = int(cells[label_i])
            except ValueError:
                skips.add(f"{path}:{n}", "label not an integer")
                continue
        yield cells[text_i], label


def _column(header: list[str], column: int | str, path: Path) -> int:
    if isinstance(column, int):
        if not 0 <= column < len(header):
            raise ValueError(f"{path} has {len(header)} columns; column {column} does not exist")
        return column
    if column not in header:
        raise ValueError(f"{path} has no column '{column}' (header: {', '.join(header)})")
    return header.index(column)

"""Tiny-fixture recipes for the data-source contract test: one per registered source.

A recipe writes a small data set into a temporary folder, with one broken item where the
source can skip something, and says what building it should give. A registered source without
a recipe here fails the contract test.
"""

from __future__ import annotations

import dataclasses
import json
from collections.abc import Callable
from pathlib import Path
from typing import Any

from selfsup.data.shard_writer import write_shards

from .audio_helpers import FSDD_PATTERN, fsdd_like
from .helpers import solid_png, truncated_jpeg, write


@dataclasses.dataclass(frozen=True)
class SourceCase:
    """``kwargs`` for ``build_dataset``, how many items it should yield with which labels, and
    the start of its skip summary (``"skipped 1 of 9 files"``; None when nothing can be
    skipped)."""

    kwargs: dict[str, Any]
    items: int
    labels: set[int]
    skipped: str | None


def folder(root: Path) -> SourceCase:
    """Two class folders of 4 PNGs each, and one truncated JPEG."""
    for cls in ("ant", "bee"):
        for i in range(4):
            write(root / cls / f"{i}.png", solid_png(10 * i))
    write(root / "bee" / "broken.jpg", truncated_jpeg())
    return SourceCase({"path": str(root)}, 8, {0, 1}, "skipped 1 of 9 files")


def shards(root: Path) -> SourceCase:
    """Two tar shards of 3 samples (labels 0-2, one unlabelled), one a truncated JPEG."""
    items = [(solid_png(i), "png", i % 3 if i else -1) for i in range(5)]
    items.insert(2, (truncated_jpeg(), "jpg", 1))
    write_shards(items, root, samples_per_shard=3)
    return SourceCase(
        {"path": str(root), "shuffle": False}, 5, {-1, 0, 1, 2}, "skipped 1 of 6 samples"
    )


def digits(root: Path) -> SourceCase:
    """Bundled with scikit-learn: no files to write, nothing to skip."""
    return SourceCase({}, 1797, set(range(10)), None)


def text(root: Path) -> SourceCase:
    """A 10-line text file with one line that is not UTF-8; windows of 8 + 1 characters."""
    lines = [f"line {i} of the poem\n".encode() for i in range(10)]
    lines.insert(3, b"\xff\xfe not text\n")
    write(root / "poem.txt", b"".join(lines))
    chars = sum(len(line) for i, line in enumerate(lines) if i != 3)
    return SourceCase({"path": str(root), "seq_len": 8}, chars - 8, {-1}, "skipped 1 of 11 lines")


def jsonl(root: Path) -> SourceCase:
    """Ten JSON lines and one that is not JSON, read with a character tokenizer."""
    docs = [f"document number {i}" for i in range(10)]
    rows = [json.dumps({"text": doc}) for doc in docs]
    rows.insert(5, "{not json")
    write(root / "docs.jsonl", ("\n".join(rows) + "\n").encode())
    kwargs = {"path": str(root), "seq_len": 8, "tokenizer": "char"}
    tokens = sum(len(doc) + 1 for doc in docs)  # one <eos> after each document
    return SourceCase(kwargs, tokens - 8, {-1}, "skipped 1 of 11 lines")


def tsv(root: Path) -> SourceCase:
    """A labelled TSV of 4 sentences and one row whose label is not an integer."""
    body = "sentence\tlabel\na good film\t1\na bad film\t0\nnot a label\tx\nfine\t1\nawful\t0\n"
    write(root / "train.tsv", body.encode())
    kwargs = {"path": str(root / "train.tsv"), "max_len": 8, "tokenizer": "char"}
    return SourceCase(kwargs, 4, {0, 1}, "skipped 1 of 5 lines")


def audio(root: Path) -> SourceCase:
    """FSDD-style names for digits 0-2 of one speaker (2 takes each), and one text file
    named as a wav."""
    fsdd_like(root, speakers=("ann",), takes=2)
    write(root / "9_ann_0.wav", b"not audio at all, just words in a file")
    kwargs = {"path": str(root), "sample_rate": 8000, "label_pattern": FSDD_PATTERN}
    return SourceCase({**kwargs, "label": "digit"}, 6, {0, 1, 2}, "skipped 1 of 7 files")


def pairs(root: Path) -> SourceCase:
    """Image + caption pairs of two classes; one row without a caption, one truncated JPEG."""
    rows = ["image\tcaption\tlabel"]
    for i in range(4):
        write(root / f"{i}.png", solid_png(40 * i))
        rows.append(f"{i}.png\ta picture number {i}\t{('ant', 'bee')[i % 2]}")
    rows.append("0.png\t\tant")
    write(root / "broken.jpg", truncated_jpeg())
    rows.append("broken.jpg\ta broken picture\tbee")
    write(root / "pairs.tsv", "\n".join(rows).encode())
    sides = {
        "a": {"modality": "image", "column": "image", "size": 4},
        "b": {"modality": "text", "column": "caption", "tokenizer": "char", "max_len": 24},
    }
    kwargs = {"path": str(root / "pairs.tsv"), **sides}
    return SourceCase(kwargs, 4, {0, 1}, "skipped 2 of 6 rows")


# Source name -> recipe (given an empty folder to write into).
RECIPES: dict[str, Callable[[Path], SourceCase]] = {
    "folder": folder,
    "shards": shards,
    "digits": digits,
    "text": text,
    "jsonl": jsonl,
    "tsv": tsv,
    "audio": audio,
    "pairs": pairs,
}

"""Text item sources for ``selfsup embed``: one sentence per line of a ``.txt`` file (or of every
``.txt`` under a folder), or one per row of a ``.tsv`` with a header.

Listing a source reads each file once and keeps only where each usable line starts and how
long it is (plus its label), so memory holds a few bytes per line, never the text. Item ``i``
is read back with ``os.pread`` (no shared file position, so DataLoader workers can share the
descriptors) and encoded as evaluation reads sentences: ``[CLS] ids [SEP]`` padded to
``max_len``. Empty and non-UTF-8 lines, TSV rows without the text column and non-integer
labels are skipped while listing and counted, as the training readers count them.

A ``.tsv`` takes its text from the ``sentence`` column (else the first column that is not
``label``) and its labels from ``label`` when the header has one. Ids are ``FILE:LINE``, the
file relative to the folder given (or its name alone), the line 1-based.
"""

from __future__ import annotations

import os
from array import array
from pathlib import Path
from typing import Any

from selfsup.data.collate import Item
from selfsup.data.item_sources import ItemSource, UnreadableItem
from selfsup.data.skips import SkipLog
from selfsup.data.text_datasets import sentence_row
from selfsup.data.text_read import EMPTY, UNDECODABLE, text_files
from selfsup.data.tokenizers import TextTokenizer
from selfsup.registry import ConfigError


class TextLineItems(ItemSource):
    """Lines (or TSV rows) of text files, each tokenized when read."""

    noun = "lines"

    def __init__(self, path: str | Path, tokenizer: TextTokenizer, max_len: int) -> None:
        super().__init__()
        if max_len < 3:
            raise ConfigError(f"text items need max_len >= 3 (cls, a token, sep), got {max_len}")
        self.root = os.path.abspath(path)
        self.tsv = str(path).endswith(".tsv")
        try:
            self.files = [str(f) for f in text_files(self.root, ".tsv" if self.tsv else ".txt")]
        except FileNotFoundError as e:
            raise ConfigError(str(e)) from None
        self.tokenizer, self.max_len = tokenizer, max_len
        self.text_column: int = 0
        self.label_column: int | None = None
        self._file, self._line, self._label = array("i"), array("q"), array("q")
        self._start, self._length = array("q"), array("q")
        for number, file in enumerate(self.files):
            self._list(number, file, self.listing_skips)
        if not self._start:
            raise ConfigError(f"no usable lines in {path}")
        self.has_labels = self.label_column is not None
        self.classes: list[str] = []
        self._fds: dict[int, int] = {}

    def __len__(self) -> int:
        return len(self._start)

    def item_id(self, index: int) -> str:
        file = self.files[self._file[index]]
        name = os.path.basename(file) if file == self.root else os.path.relpath(file, self.root)
        return f"{name.replace(os.sep, '/')}:{self._line[index]}"

    def label(self, index: int) -> int:
        return self._label[index]

    def read(self, index: int) -> Item:
        raw = os.pread(self._fd(self._file[index]), self._length[index], self._start[index])
        try:
            text = raw.decode("utf-8").rstrip("\r\n")
            if self.tsv:
                text = text.split("\t")[self.text_column]
        except (UnicodeDecodeError, IndexError):  # the file was rewritten after listing
            raise UnreadableItem("changed since listed") from None
        ids = sentence_row(self.tokenizer, self.tokenizer.encode(text), self.max_len)
        return {"input": ids, "label": self._label[index]}

    def describe(self) -> dict[str, Any]:
        sizes = [os.path.getsize(f) for f in self.files]  # a rewritten file shows in its size
        return {
            "kind": "tsv rows" if self.tsv else "text lines",
            "path": self.root,
            "max_len": self.max_len,
            "file_bytes": sum(sizes),
        }

    def _list(self, number: int, file: str, skips: SkipLog) -> None:
        """Record where each usable line of ``file`` starts, and skip the rest."""
        offset = 0
        with open(file, "rb") as f:
            for line_no, raw in enumerate(f, 1):
                start, offset = offset, offset + len(raw)
                try:
                    line = raw.decode("utf-8").rstrip("\r\n")
                except UnicodeDecodeError:
                    skips.add(f"{file}:{line_no}", UNDECODABLE)
                    continue
                if self.tsv and line_no == 1:
                    self._read_header(line.split("\t"), file)
                    continue
                label, reason = self._check(line)
                if reason:
                    skips.add(f"{file}:{line_no}", reason)
                    continue
                self._file.append(number)
                self._line.append(line_no)
                self._label.append(label)
                self._start.append(start)
                self._length.append(len(raw))

    def _read_header(self, header: list[str], file: str) -> None:
        others = [c for c in header if c != "label"]
        if not others:
            raise ConfigError(f"{file}: expected a header with a text column, got {header}")
        text = "sentence" if "sentence" in header else others[0]
        self.text_column = header.index(text)
        self.label_column = header.index("label") if "label" in header else None

    def _check(self, line: str) -> tuple[int, str]:
        """(label, skip reason or "") of one line."""
        if not line.strip():
            return -1, EMPTY
        if not self.tsv:
            return -1, ""
        cells = line.split("\t")
        wanted = max(self.text_column, self.label_column or 0)
        if wanted >= len(cells) or not cells[self.text_column].strip():
            return -1, "missing column"
        if self.label_column is None:
            return -1, ""
        try:
            return int(cells[self.label_column]), ""
        except ValueError:
            return -1, "label not an integer"

    def _fd(self, number: int) -> int:
        fd = self._fds.get(number)
        if fd is None:
            fd = self._fds[number] = os.open(self.files[number], os.O_RDONLY)
        return fd

    def __getstate__(self) -> dict[str, Any]:
        # Descriptors do not survive pickling (spawned workers); each process opens its own.
        return {**self.__dict__, "_fds": {}}

    def __del__(self) -> None:
        for fd in getattr(self, "_fds", {}).values():
            os.close(fd)


def text_item_source(spec: str, tokenizer: TextTokenizer | None, max_len: int) -> ItemSource:
    """The lines a command-line ``spec`` names: a ``.txt`` file, a folder of them, or a
    ``.tsv``; ``tokenizer`` is the encoder's (None: a ConfigError)."""
    if not Path(spec).exists():
        raise ConfigError(f"text data not found: {spec} (give a .txt file, a folder, or a .tsv)")
    if tokenizer is None:
        raise ConfigError("this checkpoint's text encoder carries no tokenizer")
    return TextLineItems(spec, tokenizer, max_len)

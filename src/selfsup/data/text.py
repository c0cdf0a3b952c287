"""Text data sources: plain-text files, JSON lines and labelled TSV, tokenised on the fly.

Every source trains its tokenizer on the training text only, keeps it on the dataset as
``.tokenizer`` (the engine hands it to the backbone) and caches the tokenised corpus per
process, so building the train and val splits reads and tokenises the files once.

- ``text``: ``.txt`` files; ``documents="file"`` keeps them whole (nanoGPT-style: train is
  the first ``1 - val_fraction`` of the characters, val the rest), ``"line"`` makes each
  non-empty line a document ending in ``<eos>`` (val: the last documents).
- ``jsonl``: one document per line, the string in ``field``.
- ``tsv``: one sentence per row with an optional integer label; val is ``val_path``.

``stream=True`` (text, jsonl) never holds the corpus: windows are tokenised as files are
read, the tokenizer is trained on the first documents, and split "val" reads ``val_path``.
"""

from __future__ import annotations

import functools
import itertools
import logging
from collections.abc import Iterator
from pathlib import Path
from typing import Any, Literal

import torch
from torch.utils.data import Dataset

from selfsup.data.skips import SkipLog
from selfsup.data.sources import Split, register_data_source
from selfsup.data.text_datasets import StreamingTokenWindows, TokenizedSentences, TokenWindows
from selfsup.data.text_read import read_documents, read_jsonl, read_lines, read_tsv, text_files
from selfsup.data.tokenizers import TextTokenizer, TokenizerKind, train_tokenizer
from selfsup.registry import ConfigError

log = logging.getLogger("selfsup.data")

TOKENIZER_SAMPLE_DOCS = 100_000  # documents a streamed corpus's tokenizer is trained on
_ENCODE_CHUNK = 4096  # characters' lines encoded per call when tokenising a whole text


@register_data_source("text", modality="text")
def text(
    path: str,
    split: Split = "all",
    seq_len: int = 256,
    tokenizer: TokenizerKind = "char",
    vocab_size: int = 1000,
    documents: Literal["file", "line"] = "file",
    val_fraction: float = 0.1,
    val_path: str | None = None,
    stream: bool = False,
) -> Dataset[Any]:
    """Plain-text ``.txt`` files as next-token windows of ``seq_len + 1`` tokens."""
    key = ("text", path, documents, "")
    return _lm_dataset(key, split, seq_len, tokenizer, vocab_size, val_fraction, val_path, stream)


@register_data_source("jsonl", modality="text")
def jsonl(
    path: str,
    split: Split = "all",
    field: str = "text",
    seq_len: int = 256,
    tokenizer: TokenizerKind = "bpe",
    vocab_size: int = 8000,
    val_fraction: float = 0.1,
    val_path: str | None = None,
    stream: bool = False,
) -> Dataset[Any]:
    """``.jsonl`` files, one document per line in ``field``, as next-token windows."""
    key = ("jsonl", path, "line", field)
    return _lm_dataset(key, split, seq_len, tokenizer, vocab_size, val_fraction, val_path, stream)


@register_data_source("tsv", modality="text")
def tsv(
    path: str,
    split: Split = "all",
    val_path: str | None = None,
    text_column: int | str = "sentence",
    label_column: int | str | None = "label",
    max_len: int = 64,
    tokenizer: TokenizerKind = "wordpiece",
    vocab_size: int = 8000,
) -> Dataset[Any]:
    """A TSV with a header, one sentence per row (columns by name or 0-based index), as
    padded ``[CLS] ... [SEP]`` rows of ``max_len`` ids with their labels."""
    if split == "val" and val_path is None:
        raise ConfigError("split 'val' of data source 'tsv' needs 'data.val_path'")
    tok = _tsv_tokenizer(path, text_column, tokenizer, vocab_size)
    rows = _tsv_rows(val_path if split == "val" else path, text_column, label_column)
    if split == "all" and val_path is not None:
        rows = rows + _tsv_rows(val_path, text_column, label_column)
    texts, labels = [r[0] for r in rows], [r[1] for r in rows]
    return TokenizedSentences(texts, labels, tok, max_len)


def labeled_tsv(
    path: str,
    tokenizer: TextTokenizer,
    text_column: int | str = "sentence",
    label_column: int | str | None = "label",
    max_len: int = 64,
) -> TokenizedSentences:
    """A labelled TSV encoded with a given tokenizer (a checkpoint's), for evaluation."""
    rows = _tsv_rows(path, text_column, label_column)
    return TokenizedSentences([r[0] for r in rows], [r[1] for r in rows], tokenizer, max_len)


# --- tsv -------------------------------------------------------------------------------------


@functools.lru_cache(maxsize=8)
def _tsv_rows(
    path: str, text_column: int | str, label_column: int | str | None
) -> list[tuple[str, int]]:
    skips = SkipLog("lines")
    rows = list(read_tsv(Path(path), text_column, label_column, skips))
    skips.report(len(rows) + skips.skipped)
    if not rows:
        raise ValueError(f"no usable rows in {path}")
    return rows


@functools.lru_cache(maxsize=8)
def _tsv_tokenizer(
    path: str, text_column: int | str, kind: TokenizerKind, vocab_size: int
) -> TextTokenizer:
    rows = _tsv_rows(path, text_column, None)
    return train_tokenizer((r[0] for r in rows), kind, vocab_size)


# --- text / jsonl ----------------------------------------------------------------------------

CorpusKey = tuple[str, str, str, str]  # (format, path, documents, jsonl field)


def _lm_dataset(
    key: CorpusKey,
    split: Split,
    seq_len: int,
    kind: TokenizerKind,
    vocab_size: int,
    val_fraction: float,
    val_path: str | None,
    stream: bool,
) -> Dataset[Any]:
    if not 0.0 <= val_fraction < 1.0:
        raise ConfigError(f"data.val_fraction must be in [0, 1), got {val_fraction}")
    if stream or val_path is not None:
        tok = _sample_tokenizer(key, kind, vocab_size)
        if split == "val" and val_path is None:
            raise ConfigError("split 'val' of a streamed text source needs 'data.val_path'")
        source = (key[0], val_path, key[2], key[3]) if split == "val" and val_path else key
        if stream:
            return StreamingTokenWindows(lambda: _documents(source, SkipLog("lines")), tok, seq_len)
        tokens = _tokens(source, tok)
        return TokenWindows(tokens, seq_len, seq_len if split == "val" else 1, tok)
    tok, train_ids, val_ids = _split_corpus(key, kind, vocab_size, val_fraction)
    if split == "val":
        if len(val_ids) == 0:
            raise ConfigError("data.val_fraction is 0: there is no 'val' split")
        return TokenWindows(val_ids, seq_len, seq_len, tok)
    ids = train_ids if split == "train" else torch.cat([train_ids, val_ids])
    return TokenWindows(ids, seq_len, 1, tok)


def _documents(key: CorpusKey, skips: SkipLog) -> Iterator[str]:
    fmt, path, documents, field = key
    for f in text_files(path, ".jsonl" if fmt == "jsonl" else ".txt"):
        if fmt == "jsonl":
            yield from read_jsonl(f, field, skips)
        elif documents == "line":
            yield from read_documents(f, skips)
        else:
            yield "".join(read_lines(f, skips, keep_empty=True))


@functools.lru_cache(maxsize=4)
def _split_corpus(
    key: CorpusKey, kind: TokenizerKind, vocab_size: int, val_fraction: float
) -> tuple[TextTokenizer, torch.Tensor, torch.Tensor]:
    """Tokenizer (trained on train only) and the train / val id tensors."""
    skips = SkipLog("lines")
    docs = list(_documents(key, skips))
    skips.report(sum(d.count("\n") or 1 for d in docs) + skips.skipped)
    if not docs:
        raise ValueError(f"no usable text in {key[1]}")
    if key[2] == "file":  # split by characters, like nanoGPT
        whole = "".join(docs)
        cut = int(len(whole) * (1 - val_fraction))
        train_docs, val_docs = [whole[:cut]], [whole[cut:]] if cut < len(whole) else []
    else:
        cut = int(len(docs) * (1 - val_fraction))
        if cut == 0:  # else the val split takes every document and training sees 0 tokens
            raise ConfigError(_too_few_documents(key[1], len(docs), val_fraction))
        train_docs, val_docs = docs[:cut], docs[cut:]
    tok = train_tokenizer(train_docs, kind, vocab_size)
    eos = key[2] != "file"
    return tok, _encode(train_docs, tok, eos), _encode(val_docs, tok, eos)


def _too_few_documents(path: str, n_docs: int, val_fraction: float) -> str:
    noun = "document" if n_docs == 1 else "documents"
    return (
        f"the corpus {path} has {n_docs} {noun}: data.val_fraction={val_fraction:g} leaves "
        "none for training; add documents or set data.val_fraction=0"
    )


@functools.lru_cache(maxsize=4)
def _sample_tokenizer(key: CorpusKey, kind: TokenizerKind, vocab_size: int) -> TextTokenizer:
    sample = itertools.islice(_documents(key, SkipLog("lines")), TOKENIZER_SAMPLE_DOCS)
    return train_tokenizer(sample, kind, vocab_size)


def _tokens(key: CorpusKey, tok: TextTokenizer) -> torch.Tensor:
    skips = SkipLog("lines")
    docs = list(_documents(key, skips))
    skips.report(len(docs) + skips.skipped)
    return _encode(docs, tok, eos=key[2] != "file")


def _encode(docs: list[str], tok: TextTokenizer, eos: bool) -> torch.Tensor:
    """All documents as one int64 id tensor (``<eos>`` after each when ``eos``)."""
    out: list[int] = []
    for doc in docs:
        # Encode a long text in line-aligned pieces so tokenizers can run them in parallel.
        pieces = doc.splitlines(keepends=True) or [doc]
        for start in range(0, len(pieces), _ENCODE_CHUNK):
            for ids in tok.encode_batch(pieces[start : start + _ENCODE_CHUNK]):
                out.extend(ids)
        if eos:
            out.append(tok.eos_id)
    return torch.tensor(out, dtype=torch.int64)

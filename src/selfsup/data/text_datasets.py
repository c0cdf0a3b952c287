"""Token datasets: LM windows over one id tensor, padded labelled sentences, and a stream.

Items are ``{"input": int64 [T], "label": int}``, so the shared collate stacks them
unchanged. Padding uses the tokenizer's pad id; models find padding by comparing to it.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable, Iterator
from typing import Any

import torch
from torch.utils.data import Dataset, IterableDataset, get_worker_info

from selfsup.data.tokenizers import TextTokenizer


class TokenWindows(Dataset[dict[str, Any]]):
    """Windows of ``seq_len + 1`` tokens (inputs plus next-token targets) from one id stream.

    ``stride=1`` makes every offset a sample (a shuffled epoch is then random windows without
    replacement); ``stride=seq_len`` tiles the stream so each target token is scored once.
    """

    def __init__(
        self, tokens: torch.Tensor, seq_len: int, stride: int, tokenizer: TextTokenizer
    ) -> None:
        if seq_len < 1 or stride < 1:
            raise ValueError(f"seq_len and stride must be >= 1, got {seq_len} and {stride}")
        if len(tokens) < seq_len + 1:
            raise ValueError(f"corpus has {len(tokens)} tokens, fewer than seq_len + 1")
        self.tokens = tokens
        self.seq_len = seq_len
        self.stride = stride
        self.tokenizer = tokenizer

    def __len__(self) -> int:
        return (len(self.tokens) - self.seq_len - 1) // self.stride + 1

    def __getitem__(self, i: int) -> dict[str, Any]:
        start = i * self.stride
        return {"input": self.tokens[start : start + self.seq_len + 1], "label": -1}


def sentence_row(tokenizer: TextTokenizer, ids: list[int], max_len: int) -> torch.Tensor:
    """``[CLS] ids [SEP] [PAD]...`` as int64 ``[max_len]``, ``ids`` cut to fit: how every
    sentence is read for evaluation and embedding."""
    seq = [tokenizer.cls_id, *ids[: max_len - 2], tokenizer.sep_id]
    row = torch.full((max_len,), tokenizer.pad_id, dtype=torch.int64)
    row[: len(seq)] = torch.tensor(seq, dtype=torch.int64)
    return row


class TokenizedSentences(Dataset[dict[str, Any]]):
    """One padded row per text: ``[CLS] tokens [SEP] [PAD]...`` cut to ``max_len``."""

    def __init__(
        self, texts: list[str], labels: list[int], tokenizer: TextTokenizer, max_len: int
    ) -> None:
        if max_len < 3:
            raise ValueError(f"max_len must be >= 3 (cls, a token, sep), got {max_len}")
        self.tokenizer = tokenizer
        self.ids = torch.full((len(texts), max_len), tokenizer.pad_id, dtype=torch.int64)
        for row, ids in enumerate(tokenizer.encode_batch(texts)):
            self.ids[row] = sentence_row(tokenizer, ids, max_len)
        self.labels = torch.tensor(labels, dtype=torch.int64)

    def __len__(self) -> int:
        return len(self.ids)

    def __getitem__(self, i: int) -> dict[str, Any]:
        return {"input": self.ids[i], "label": int(self.labels[i])}


class StreamingTokenWindows(IterableDataset[dict[str, Any]]):
    """Consecutive ``seq_len + 1``-token windows from documents read lazily, for corpora that
    do not fit in memory. ``documents()`` is called afresh each epoch; documents are joined by
    the tokenizer's ``<eos>``. Each DataLoader worker takes every k-th document."""

    def __init__(
        self,
        documents: Callable[[], Iterable[str]],
        tokenizer: TextTokenizer,
        seq_len: int,
        chunk: int = 256,
    ) -> None:
        self.documents = documents
        self.tokenizer = tokenizer
        self.seq_len = seq_len
        self.chunk = chunk

    def __iter__(self) -> Iterator[dict[str, Any]]:
        info = get_worker_info()
        worker, workers = (info.id, info.num_workers) if info is not None else (0, 1)
        buffer: list[int] = []
        batch: list[str] = []
        for n, doc in enumerate(self.documents()):
            if n % workers != worker:
                continue
            batch.append(doc)
            if len(batch) == self.chunk:
                yield from self._windows(batch, buffer)
                batch = []
        yield from self._windows(batch, buffer)

    def _windows(self, docs: list[str], buffer: list[int]) -> Iterator[dict[str, Any]]:
        for ids in self.tokenizer.encode_batch(docs):
            buffer.extend(ids)
            buffer.append(self.tokenizer.eos_id)
        size = self.seq_len + 1
        while len(buffer) >= size:
            yield {"input": torch.tensor(buffer[:size], dtype=torch.int64), "label": -1}
            del buffer[: self.seq_len]  # the last target is the next window's first input

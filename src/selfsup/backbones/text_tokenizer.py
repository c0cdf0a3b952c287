"""What text backbones and their users need of a tokenizer, as a structural type.

Backbones sit beside ``data`` (where tokenizers are trained), so they name the interface
instead of importing the class; ``selfsup.data.tokenizers.TextTokenizer`` satisfies it.
"""

from __future__ import annotations

from collections.abc import Iterable
from typing import Protocol


class Tokenizer(Protocol):
    """Ids of the special tokens, the vocabulary size, encode/decode and a JSON round trip
    (text backbones keep the JSON in every checkpoint)."""

    pad_id: int
    mask_id: int
    eos_id: int
    special_ids: list[int]

    @property
    def vocab_size(self) -> int:
        """Number of ids, special tokens included."""
        ...

    def encode(self, text: str) -> list[int]:
        """Token ids of ``text`` (no special tokens added)."""
        ...

    def decode(self, ids: Iterable[int]) -> str:
        """Text of ``ids``; special tokens are dropped."""
        ...

    def to_json(self) -> str:
        """The whole tokenizer as one JSON string."""
        ...

    @classmethod
    def from_json(cls, text: str) -> Tokenizer:
        """Inverse of :meth:`to_json`."""
        ...

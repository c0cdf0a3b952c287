"""Tokenizers trained on the user's corpus: character-level, byte-level BPE and WordPiece.

A :class:`TextTokenizer` owns the special tokens; every id a model or loss needs (pad, mask,
cls, sep, eos) is looked up here, never hard-coded. It serialises to one JSON string, which
text backbones keep in every checkpoint so eval and generate decode with the same vocabulary.
"""

from __future__ import annotations

import json
from collections.abc import Iterable
from typing import Literal

from tokenizers import Regex, Tokenizer, decoders, models, pre_tokenizers, trainers

TokenizerKind = Literal["char", "bpe", "wordpiece"]

PAD, UNK, CLS, SEP, MASK, EOS = "[PAD]", "[UNK]", "[CLS]", "[SEP]", "[MASK]", "<eos>"
SPECIAL_TOKENS = (PAD, UNK, CLS, SEP, MASK, EOS)


class TextTokenizer:
    """A trained HF ``tokenizers.Tokenizer`` plus the ids of selfsup's special tokens."""

    def __init__(self, tokenizer: Tokenizer, kind: str) -> None:
        self.tokenizer = tokenizer
        self.kind = kind
        ids = {tok: tokenizer.token_to_id(tok) for tok in SPECIAL_TOKENS}
        missing = [tok for tok, i in ids.items() if i is None]
        if missing:
            raise ValueError(f"tokenizer lacks special tokens {missing}")
        found = {tok: int(i) for tok, i in ids.items() if i is not None}
        self.pad_id = found[PAD]
        self.unk_id = found[UNK]
        self.cls_id = found[CLS]
        self.sep_id = found[SEP]
        self.mask_id = found[MASK]
        self.eos_id = found[EOS]
        self.special_ids = sorted(found.values())

    @property
    def vocab_size(self) -> int:
        """Number of ids, special tokens included."""
        return int(self.tokenizer.get_vocab_size(with_added_tokens=True))

    def encode(self, text: str) -> list[int]:
        """Token ids of ``text`` (no special tokens added)."""
        return list(self.tokenizer.encode(text, add_special_tokens=False).ids)

    def encode_batch(self, texts: list[str]) -> list[list[int]]:
        """Token ids of many texts at once (parallel inside ``tokenizers``)."""
        return [e.ids for e in self.tokenizer.encode_batch(texts, add_special_tokens=False)]

    def decode(self, ids: Iterable[int]) -> str:
        """Text of ``ids``; special tokens are dropped."""
        return str(self.tokenizer.decode(list(ids), skip_special_tokens=True))

    def to_json(self) -> str:
        """One JSON string holding the kind and the full tokenizer."""
        return json.dumps({"kind": self.kind, "tokenizer": self.tokenizer.to_str()})

    @classmethod
    def from_json(cls, text: str) -> TextTokenizer:
        """Inverse of :meth:`to_json`."""
        try:
            data = json.loads(text)
            return cls(Tokenizer.from_str(data["tokenizer"]), data["kind"])
        except Exception as e:  # tokenizers raises plain Exceptions on bad JSON
            raise ValueError(f"not a selfsup tokenizer JSON: {str(e).splitlines()[0]}") from None


def train_tokenizer(
    texts: Iterable[str], kind: TokenizerKind = "char", vocab_size: int = 1000
) -> TextTokenizer:
    """Train a tokenizer of ``kind`` on ``texts``; ``vocab_size`` is ignored for "char"."""
    if kind == "char":
        return _char_tokenizer(texts)
    if kind == "bpe":
        tok = Tokenizer(models.BPE(unk_token=UNK))
        # Byte-level pre-tokenisation keeps spaces and newlines, so decode(encode(s)) == s.
        tok.pre_tokenizer = pre_tokenizers.ByteLevel(add_prefix_space=False)
        tok.decoder = decoders.ByteLevel()
        bpe = trainers.BpeTrainer(
            vocab_size=vocab_size,
            special_tokens=list(SPECIAL_TOKENS),
            initial_alphabet=pre_tokenizers.ByteLevel.alphabet(),
            show_progress=False,
        )
        tok.train_from_iterator(texts, trainer=bpe)
        return TextTokenizer(tok, kind)
    if kind == "wordpiece":
        tok = Tokenizer(models.WordPiece(unk_token=UNK))
        tok.pre_tokenizer = pre_tokenizers.BertPreTokenizer()
        tok.decoder = decoders.WordPiece(cleanup=False)  # keep " ." as written
        wp = trainers.WordPieceTrainer(
            vocab_size=vocab_size, special_tokens=list(SPECIAL_TOKENS), show_progress=False
        )
        tok.train_from_iterator(texts, trainer=wp)
        return TextTokenizer(tok, kind)
    raise ValueError(f"unknown tokenizer kind '{kind}'; use char, bpe or wordpiece")


def _char_tokenizer(texts: Iterable[str]) -> TextTokenizer:
    chars: set[str] = set()
    for text in texts:
        chars.update(text)
    vocab = {tok: i for i, tok in enumerate(SPECIAL_TOKENS)}
    for ch in sorted(chars):
        vocab.setdefault(ch, len(vocab))
    tok = Tokenizer(models.WordLevel(vocab, unk_token=UNK))
    # One pre-token per character, newlines included ("(?m)" lets '.' match them).
    tok.pre_tokenizer = pre_tokenizers.Split(Regex("(?m)."), behavior="isolated")
    tok.decoder = decoders.Fuse()
    tok.add_special_tokens(list(SPECIAL_TOKENS))
    return TextTokenizer(tok, "char")

"""Tokenizers: exact round trips, special ids owned by the tokenizer, JSON persistence."""

from __future__ import annotations

import pytest

from selfsup.data.tokenizers import SPECIAL_TOKENS, TextTokenizer, train_tokenizer

CORPUS = [
    "First Citizen:\nBefore we proceed any further, hear me speak.\n\n",
    "All:\nSpeak, speak.  Tabs\tand ünïcödé too.\n",
] * 20


@pytest.mark.parametrize("kind", ["char", "bpe"])
def test_round_trip_is_exact(kind: str) -> None:
    tok = train_tokenizer(CORPUS, kind, vocab_size=300)
    text = "".join(CORPUS[:2])
    ids = tok.encode(text)
    assert tok.decode(ids) == text
    if kind == "char":
        assert len(ids) == len(text)


def test_wordpiece_round_trip_up_to_spacing() -> None:
    tok = train_tokenizer(CORPUS, "wordpiece", vocab_size=300)
    text = "hear me speak ."
    assert tok.decode(tok.encode(text)) == text


@pytest.mark.parametrize("kind", ["char", "bpe", "wordpiece"])
def test_special_ids_are_distinct_and_looked_up(kind: str) -> None:
    tok = train_tokenizer(CORPUS, kind, vocab_size=300)
    inner = tok.tokenizer
    assert [inner.token_to_id(t) for t in SPECIAL_TOKENS] == [
        tok.pad_id,
        tok.unk_id,
        tok.cls_id,
        tok.sep_id,
        tok.mask_id,
        tok.eos_id,
    ]
    assert len(set(tok.special_ids)) == len(SPECIAL_TOKENS)
    assert max(tok.encode("".join(CORPUS))) < tok.vocab_size


def test_char_vocab_is_the_alphabet_plus_specials() -> None:
    tok = train_tokenizer(CORPUS, "char")
    assert tok.vocab_size == len(set("".join(CORPUS))) + len(SPECIAL_TOKENS)
    assert tok.encode("~") == [tok.unk_id]  # unseen character


def test_json_round_trip_keeps_vocabulary() -> None:
    tok = train_tokenizer(CORPUS, "bpe", vocab_size=300)
    again = TextTokenizer.from_json(tok.to_json())
    assert again.kind == "bpe" and again.vocab_size == tok.vocab_size
    assert again.encode(CORPUS[1]) == tok.encode(CORPUS[1])


def test_bad_json_and_kind_raise_one_line() -> None:
    with pytest.raises(ValueError, match="not a selfsup tokenizer JSON"):
        TextTokenizer.from_json("{}")
    with pytest.raises(ValueError, match="unknown tokenizer kind"):
        train_tokenizer(CORPUS, "sentencepiece", 100)  # type: ignore[arg-type]

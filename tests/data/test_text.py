"""Text sources: windows, nanoGPT-style split, strict decoding with counted skips, TSV, JSONL."""

from __future__ import annotations

import json
import logging
from pathlib import Path

import pytest
import torch

from selfsup.data.sources import build_dataset
from selfsup.data.text import labeled_tsv  # importing it also registers the text sources
from selfsup.data.text_datasets import StreamingTokenWindows, TokenWindows
from selfsup.data.tokenizers import train_tokenizer
from selfsup.registry import ConfigError

POEM = "".join(f"line {i}: to be or not to be\n" for i in range(200))


def test_windows_match_slices_of_the_corpus(tmp_path: Path) -> None:
    (tmp_path / "a.txt").write_text(POEM)
    train = build_dataset("text", "train", path=str(tmp_path / "a.txt"), seq_len=16)
    val = build_dataset("text", "val", path=str(tmp_path / "a.txt"), seq_len=16)
    tok = train.tokenizer
    cut = int(len(POEM) * 0.9)
    assert tok.decode(train.tokens.tolist()) == POEM[:cut]
    assert tok.decode(val.tokens.tolist()) == POEM[cut:]
    assert len(train) == cut - 16  # every offset with 17 tokens available
    assert torch.equal(train[5]["input"], train.tokens[5:22]) and train[5]["label"] == -1
    assert len(val) == (len(POEM) - cut - 17) // 16 + 1  # tiled: each target scored once
    assert torch.equal(val[2]["input"], val.tokens[32:49])


def test_undecodable_and_empty_lines_are_skipped_and_counted(
    tmp_path: Path, caplog: pytest.LogCaptureFixture
) -> None:
    lines = [b"good one\n", b"\xff\xfe bad\n", b"\n", b"good two\n", b"  \n", b"good three\n"]
    (tmp_path / "docs.txt").write_bytes(b"".join(lines) * 10)
    with caplog.at_level(logging.WARNING, logger="selfsup.data"):
        ds = build_dataset("text", "all", path=str(tmp_path), seq_len=4, documents="line")
    tok = ds.tokenizer
    text = tok.decode(ds.tokens.tolist())
    assert text == "good onegood twogood three" * 10  # <eos> separators are special: dropped
    assert int((ds.tokens == tok.eos_id).sum()) == 30
    assert "\ufffd" not in text
    assert any("10 not UTF-8" in r.message and "20 empty" in r.message for r in caplog.records)


def test_tsv_columns_labels_and_val_file(tmp_path: Path) -> None:
    (tmp_path / "train.tsv").write_text(
        "label\tsentence\r\n1\tgood movie\r\n0\tbad film\r\nx\toops\r\n"
    )
    (tmp_path / "dev.tsv").write_text("label\tcontent\n0\tbad movie\n")
    kw = dict(
        path=str(tmp_path / "train.tsv"),
        val_path=str(tmp_path / "dev.tsv"),
        text_column=1,
        label_column=0,
        max_len=6,
    )
    train = build_dataset("tsv", "train", **kw)
    val = build_dataset("tsv", "val", **kw)
    tok = train.tokenizer
    assert train.labels.tolist() == [1, 0] and val.labels.tolist() == [0]
    row = train[0]["input"].tolist()
    assert row[0] == tok.cls_id and row[-1] == tok.pad_id and tok.sep_id in row
    assert tok.decode(row) == "good movie"
    assert tok.decode(val[0]["input"].tolist()) == "bad movie"
    with pytest.raises(ConfigError, match="val_path"):
        build_dataset("tsv", "val", path=str(tmp_path / "train.tsv"))
    with pytest.raises(ValueError, match="no column 'text'"):
        build_dataset("tsv", "train", path=str(tmp_path / "train.tsv"), text_column="text")


def test_jsonl_field_and_bad_rows(tmp_path: Path) -> None:
    rows = [json.dumps({"text": f"doc {i}"}) for i in range(20)] + ["{oops", '{"t": 1}']
    (tmp_path / "c.jsonl").write_text("\n".join(rows) + "\n")
    ds = build_dataset("jsonl", "all", path=str(tmp_path), seq_len=4, tokenizer="char")
    assert ds.tokenizer.decode(ds.tokens.tolist()) == "".join(f"doc {i}" for i in range(20))


def test_stream_yields_the_same_windows_as_tiling() -> None:
    tok = train_tokenizer([POEM], "char")
    docs = POEM.splitlines()
    stream = list(StreamingTokenWindows(lambda: iter(docs), tok, seq_len=8, chunk=7))
    ids = []
    for d in docs:
        ids += [*tok.encode(d), tok.eos_id]
    tiled = TokenWindows(torch.tensor(ids), seq_len=8, stride=8, tokenizer=tok)
    assert len(stream) == len(tiled)
    assert all(torch.equal(s["input"], tiled[i]["input"]) for i, s in enumerate(stream))


def test_missing_file_is_a_config_error_via_engine(tmp_path: Path) -> None:
    with pytest.raises(FileNotFoundError, match="not found"):
        build_dataset("text", "train", path=str(tmp_path / "nope.txt"))


def test_labeled_tsv_uses_the_given_tokenizer(tmp_path: Path) -> None:
    (tmp_path / "dev.tsv").write_text("label\tcontent\n1\tabc\n0\tcab\n")
    tok = train_tokenizer(["abc"], "char")
    ds = labeled_tsv(str(tmp_path / "dev.tsv"), tok, 1, 0, max_len=5)
    assert ds.labels.tolist() == [1, 0]
    assert ds[1]["input"].tolist() == [tok.cls_id, *tok.encode("cab"), tok.sep_id]


@pytest.mark.parametrize("split", ["train", "all"])
def test_one_document_corpus_says_val_fraction_took_it(tmp_path: Path, split: str) -> None:
    (tmp_path / "one.txt").write_text("a single document that is long enough to window\n")
    with pytest.raises(ConfigError, match=r"has 1 document: data\.val_fraction=0\.1 leaves none"):
        build_dataset("text", split, path=str(tmp_path / "one.txt"), seq_len=4, documents="line")
    ds = build_dataset(
        "text",
        "train",
        path=str(tmp_path / "one.txt"),
        seq_len=4,
        documents="line",
        val_fraction=0.0,
    )
    assert len(ds) > 0  # the fix the message names works

"""The pairs source: each side read by its modality's code, bad rows skipped and counted on
one line, splits by column or tail, labels by class name, side keys checked."""

from __future__ import annotations

import json
import logging
from pathlib import Path

import pytest
import torch

from selfsup.data.pairs_manifest import NOT_JSON
from selfsup.data.sources import build_dataset
from selfsup.modalities.pairs import PairCollate
from selfsup.registry import ConfigError

from .audio_helpers import RATE, tone, write_audio
from .helpers import write

AUDIO = {"modality": "audio", "column": "wav", "sample_rate": RATE, "max_seconds": 0.2}
TEXT = {"modality": "text", "column": "text", "tokenizer": "char", "max_len": 16}
WORDS = ("zero", "one", "two", "three", "four", "five")


def speech_manifest(root: Path) -> Path:
    """Six good tone <-> word rows (the last two held out), plus one of each bad kind."""
    lines = []
    for i, word in enumerate(WORDS):
        write_audio(root / f"{i}.wav", tone(0.5, freq=200.0 + 100 * i))
        split = "val" if i >= 4 else "train"
        lines.append(json.dumps({"wav": f"{i}.wav", "text": word, "label": word, "split": split}))
    lines.append(json.dumps({"wav": "0.wav", "label": "zero"}))  # no text: unpaired
    lines.append(json.dumps({"wav": "missing.wav", "text": "gone", "split": "train"}))
    write(root / "words.txt", b"not a sound")
    lines.append(json.dumps({"wav": "words.txt", "text": "noise", "split": "train"}))
    lines.append("{not json")
    path = root / "pairs.jsonl"
    path.write_text("\n".join(lines) + "\n")
    return path


def test_bad_rows_are_skipped_and_counted_on_one_line(
    tmp_path: Path, caplog: pytest.LogCaptureFixture
) -> None:
    path = speech_manifest(tmp_path)
    with caplog.at_level(logging.WARNING, logger="selfsup.data"):
        ds = build_dataset("pairs", "all", path=str(path), a=AUDIO, b=TEXT)
    assert len(ds) == 6 and ds.sides == ("audio", "text")
    lines = [r.getMessage() for r in caplog.records if "skipped" in r.getMessage()]
    assert len(lines) == 1, lines
    line = lines[0]
    assert line.startswith("skipped 4 of 10 rows"), line
    for reason in ("1 unpaired", "1 audio unreadable", "1 audio not audio", f"1 {NOT_JSON}"):
        assert reason in line, (reason, line)


def test_split_column_labels_and_text_ids(tmp_path: Path) -> None:
    path = speech_manifest(tmp_path)
    train = build_dataset("pairs", "train", path=str(path), a=AUDIO, b=TEXT)
    val = build_dataset("pairs", "val", path=str(path), a=AUDIO, b=TEXT)
    assert (len(train), len(val)) == (4, 2)
    assert val.texts["b"] == ["four", "five"]
    assert val.classes == sorted(WORDS) and val.pair_labels.tolist() == [1, 0]  # five, four
    item = train[0]
    assert item["a"]["input"].shape == (round(0.2 * RATE),)  # train clips are cropped
    assert val[0]["a"]["input"].shape == (round(0.5 * RATE),)  # held-out clips are whole
    tok = train.tokenizer
    assert tok.decode(item["b"]["input"].tolist()) == "zero"


def test_tail_split_without_a_split_column(tmp_path: Path) -> None:
    rows = ["wav\ttext"] + [f"{i}.wav\t{w}" for i, w in enumerate(WORDS)]
    for i in range(len(WORDS)):
        write_audio(tmp_path / f"{i}.wav", tone(0.1))
    (tmp_path / "p.tsv").write_text("\n".join(rows))
    kw = {"path": str(tmp_path / "p.tsv"), "a": AUDIO, "b": TEXT, "val_fraction": 0.5}
    assert build_dataset("pairs", "val", **kw).texts["b"] == ["three", "four", "five"]
    assert build_dataset("pairs", "train", **kw).pair_labels.tolist() == [-1, -1, -1]


def test_pair_collate_batches_each_side_with_its_modality(tmp_path: Path) -> None:
    path = speech_manifest(tmp_path)
    ds = build_dataset("pairs", "val", path=str(path), a=AUDIO, b=TEXT)
    items = [{**ds[i], "index": i} for i in range(len(ds))]
    batch = PairCollate(ds.sides)([items[0], None, items[1]])
    assert set(batch) == {"input", "length", "label", "index", "b.input"}
    assert batch["input"].shape == (2, round(0.5 * RATE)) and batch["length"].tolist() == [4000] * 2
    assert batch["b.input"].shape == (2, 16) and batch["b.input"].dtype == torch.int64
    assert batch["index"].tolist() == [0, 1] and batch["label"].tolist() == [1, 0]


@pytest.mark.parametrize(
    ("side", "message"),
    [
        ({"modality": "audio", "column": "wav"}, "sample_rate is required"),
        ({**AUDIO, "size": 3}, "unknown key data.a.size"),
        ({"modality": "video", "column": "v"}, "modality must be one of"),
        ({"modality": "image"}, "column must name"),
    ],
)
def test_side_keys_are_checked_in_one_line(tmp_path: Path, side: dict, message: str) -> None:
    path = speech_manifest(tmp_path)
    with pytest.raises(ConfigError, match=message):
        build_dataset("pairs", "all", path=str(path), a=side, b=TEXT)


def test_a_missing_manifest_is_one_line(tmp_path: Path) -> None:
    with pytest.raises(ConfigError, match="not found"):
        build_dataset("pairs", "all", path=str(tmp_path / "none.tsv"), a=AUDIO, b=TEXT)

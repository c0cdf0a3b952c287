"""Item sources for embedding: image folders and text files read one item at a time, bad items
skipped with a reason, listings that identify what they list."""

from __future__ import annotations

import pickle
from pathlib import Path

import pytest
import torch
from torch.utils.data import DataLoader

from selfsup.data.image_items import image_item_source
from selfsup.data.item_sources import collate_source_items
from selfsup.data.text_datasets import TokenizedSentences
from selfsup.data.text_items import TextLineItems, text_item_source
from selfsup.data.tokenizers import train_tokenizer
from selfsup.registry import ConfigError

from .helpers import solid_png, truncated_jpeg, write

pytestmark = pytest.mark.filterwarnings("ignore::DeprecationWarning:torchvision.io.*")


def image_tree(root: Path) -> None:
    """cat/{a,b}.png, dog/{c.png, broken.jpg, empty.png}: the red value names the file."""
    write(root / "cat" / "a.png", solid_png(10))
    write(root / "cat" / "b.png", solid_png(20))
    write(root / "dog" / "c.png", solid_png(30))
    write(root / "dog" / "broken.jpg", truncated_jpeg())
    write(root / "dog" / "empty.png", b"")


def test_a_folder_lists_relative_ids_and_labels_and_skips_bad_files(tmp_path: Path) -> None:
    image_tree(tmp_path / "imgs")
    source = image_item_source(str(tmp_path / "imgs"), None, 0.1)
    ids = [source.item_id(i) for i in range(len(source))]
    assert ids == ["cat/a.png", "cat/b.png", "dog/broken.jpg", "dog/c.png", "dog/empty.png"]
    assert source.classes == ["cat", "dog"] and source.has_labels
    got = [source[i] for i in range(len(source))]
    assert [g["reason"] for g in got] == ["", "", "truncated", "", "zero-byte"]
    red = [int(g["item"]["input"][0, 0, 0]) for g in got if g["item"] is not None]
    assert red == [10, 20, 30]
    assert [source.label(i) for i in range(5)] == [0, 0, 1, 1, 1]


def test_a_batch_keeps_readable_items_and_names_the_skipped(tmp_path: Path) -> None:
    image_tree(tmp_path / "imgs")
    source = image_item_source(str(tmp_path / "imgs"), 4, 0.1)
    batch = collate_source_items([source[i] for i in range(2, 5)])
    assert batch["index"].tolist() == [3] and batch["label"].tolist() == [1]
    assert batch["skipped"] == [(2, "truncated"), (4, "zero-byte")]
    assert (batch["first"], batch["last"]) == (2, 4)
    assert batch["input"].shape == (1, 3, 4, 4) and batch["error"] == ""


def test_mixed_sizes_come_back_as_one_line_not_an_exception(tmp_path: Path) -> None:
    write(tmp_path / "a.png", solid_png(1, (4, 4)))
    write(tmp_path / "b.png", solid_png(2, (6, 4)))
    source = image_item_source(str(tmp_path), None, 0.0)
    batch = collate_source_items([source[0], source[1]], shape_hint="set --size")
    assert "differ in shape" in batch["error"] and batch["error"].endswith("set --size")
    assert not source.has_labels and source.label(0) == -1


def test_identity_follows_the_listing(tmp_path: Path) -> None:
    image_tree(tmp_path / "imgs")
    before = image_item_source(str(tmp_path / "imgs"), 8, 0.1).identity()
    assert before == image_item_source(str(tmp_path / "imgs"), 8, 0.1).identity()
    assert before["items"] == 5 and before["path"] == str(tmp_path / "imgs")
    assert before != image_item_source(str(tmp_path / "imgs"), 16, 0.1).identity()
    write(tmp_path / "imgs" / "dog" / "d.png", solid_png(40))
    after = image_item_source(str(tmp_path / "imgs"), 8, 0.1).identity()
    assert after["listing_sha256"] != before["listing_sha256"]


def test_image_specs_name_splits_and_refuse_what_they_cannot_read(tmp_path: Path) -> None:
    image_tree(tmp_path / "imgs")
    val = image_item_source(f"{tmp_path / 'imgs'}@val", None, 0.5)
    # The last half of each class, rounded up: 1 of 2 cats, 2 of 3 dogs.
    assert [val.item_id(i) for i in range(len(val))] == ["cat/b.png", "dog/c.png", "dog/empty.png"]
    digits = image_item_source("digits:test", None, 0.1)
    assert len(digits) == 450 and digits.item_id(0) == "digits:test/0" and digits.has_labels
    with pytest.raises(ConfigError, match="image folder not found"):
        image_item_source(str(tmp_path / "nope"), None, 0.1)
    with pytest.raises(ConfigError, match="tar shards cannot be embedded"):
        image_item_source(str(tmp_path / "x.tar"), None, 0.1)
    with pytest.raises(ConfigError, match=r"'digits:tst'.*test"):
        image_item_source("digits:tst", None, 0.1)


TOK = train_tokenizer(["a good film", "a bad film", "more words here"])


def test_text_lines_skip_empty_and_undecodable_lines_and_read_back_by_offset(
    tmp_path: Path,
) -> None:
    path = tmp_path / "notes.txt"
    path.write_bytes(b"a good film\n\n\xff\xfe broken\r\nmore words here\r\nlast line")
    source = text_item_source(str(path), TOK, 8)
    assert len(source) == 3 and not source.has_labels
    assert [source.item_id(i) for i in range(3)] == ["notes.txt:1", "notes.txt:4", "notes.txt:5"]
    assert dict(source.listing_skips.counts) == {"empty": 1, "not UTF-8": 1}
    want = TokenizedSentences(["a good film", "more words here", "last line"], [-1] * 3, TOK, 8)
    for i in range(3):
        assert torch.equal(source[i]["item"]["input"], want[i]["input"])  # type: ignore[index]


def test_a_tsv_reads_its_sentence_column_and_integer_labels(tmp_path: Path) -> None:
    path = tmp_path / "dev.tsv"
    path.write_text("label\tsentence\n1\ta good film\nx\ta bad film\n0\ta bad film\n0\n")
    source = text_item_source(str(path), TOK, 6)
    assert len(source) == 2 and source.has_labels
    assert [source.label(i) for i in range(2)] == [1, 0]
    assert [source.item_id(i) for i in range(2)] == ["dev.tsv:2", "dev.tsv:4"]
    assert dict(source.listing_skips.counts) == {"label not an integer": 1, "missing column": 1}
    want = TokenizedSentences(["a bad film"], [0], TOK, 6)[0]["input"]
    assert torch.equal(source[1]["item"]["input"], want)  # type: ignore[index]


def test_a_folder_of_text_files_reads_in_workers_and_after_pickling(tmp_path: Path) -> None:
    write(tmp_path / "b" / "two.txt", b"more words here\n")
    write(tmp_path / "a.txt", b"a good film\na bad film\n")
    source = TextLineItems(tmp_path, TOK, 8)
    assert [source.item_id(i) for i in range(3)] == ["a.txt:1", "a.txt:2", "b/two.txt:1"]
    source[0]  # opens a descriptor, which must not travel in a pickle
    copy = pickle.loads(pickle.dumps(source))
    assert copy._fds == {}
    assert torch.equal(copy[2]["item"]["input"], source[2]["item"]["input"])  # type: ignore[index]
    loader = DataLoader(source, batch_size=2, num_workers=2, collate_fn=collate_source_items)
    assert torch.cat([b["index"] for b in loader]).tolist() == [0, 1, 2]


def test_text_specs_refuse_missing_files_and_tokenizers(tmp_path: Path) -> None:
    with pytest.raises(ConfigError, match="text data not found"):
        text_item_source(str(tmp_path / "nope.txt"), TOK, 8)
    (tmp_path / "x.txt").write_text("words\n")
    with pytest.raises(ConfigError, match="carries no tokenizer"):
        text_item_source(str(tmp_path / "x.txt"), None, 8)
    (tmp_path / "blank.txt").write_text("\n \n")
    with pytest.raises(ConfigError, match="no usable lines"):
        text_item_source(str(tmp_path / "blank.txt"), TOK, 8)

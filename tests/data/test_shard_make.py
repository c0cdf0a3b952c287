"""An image folder -> tar shards: labels kept, size bound, bad files counted, safe reruns."""

from __future__ import annotations

import io
import json
import logging
import tarfile
from collections import Counter
from pathlib import Path

import numpy as np
import pytest
from PIL import Image

from selfsup.data.shard_index import read_index
from selfsup.data.shard_make import make_shards
from selfsup.data.shards import TarShardDataset

from .helpers import encode, solid_png, truncated_jpeg, write

pytestmark = pytest.mark.filterwarnings("ignore::DeprecationWarning:torchvision.io.*")


def image_folder(root: Path) -> dict[int, int]:
    """Classes ``cat`` (ids 0-5) and ``dog`` (ids 6-11) of 4x4 PNGs identified by their red
    value, a GIF (id 12, dog), a truncated JPEG and a text file posing as a PNG; returns the
    label of every good id."""
    labels = {}
    for i in range(12):
        cls = "cat" if i < 6 else "dog"
        write(root / cls / f"{i:02d}.png", solid_png(100 + i))
        labels[i] = 0 if i < 6 else 1
    gif = np.zeros((4, 4, 3), dtype=np.uint8)
    gif[..., 0], gif[..., 1], gif[..., 2] = 112, 255 - 112, 7
    write(root / "dog" / "12.gif", encode(Image.fromarray(gif), "GIF"))
    labels[12] = 1
    write(root / "cat" / "broken.jpg", truncated_jpeg())
    write(root / "dog" / "notes.png", b"not an image")
    return labels


def read_back(out: Path) -> Counter[tuple[int, int]]:
    """(id, label) of every sample in the shards at ``out``."""
    got: Counter[tuple[int, int]] = Counter()
    for item in TarShardDataset(str(out)):
        assert item is not None
        got[(int(item["input"][0, 0, 0]) - 100, item["label"])] += 1
    return got


def test_make_keeps_labels_bounds_sizes_and_counts_bad_files(
    tmp_path: Path, caplog: pytest.LogCaptureFixture
) -> None:
    labels = image_folder(tmp_path / "img")
    with caplog.at_level(logging.WARNING, logger="selfsup.data"):
        made = make_shards(tmp_path / "img", tmp_path / "out", max_bytes=20 * 1024)
    index = made.index
    assert index.classes == ["cat", "dog"] and index.samples == 13 and index.skipped == 2
    names = sorted(p.name for p in (tmp_path / "out").iterdir())
    assert names == ["index.json", *(s.name for s in index.shards)]
    assert len(index.shards) > 1 and index.shards[0].name == "shard-000000.tar"
    for shard in index.shards:
        path = tmp_path / "out" / shard.name
        assert path.stat().st_size == shard.bytes <= 20 * 1024
        with tarfile.open(path) as tar:
            assert len(tar.getnames()) == 2 * shard.samples
    assert read_index(tmp_path / "out") == index
    assert read_back(tmp_path / "out") == Counter(labels.items())
    with tarfile.open(tmp_path / "out" / "shard-000000.tar") as tar:
        assert tar.getnames()[:2] == ["000000000.png", "000000000.cls"]
        member = tar.extractfile("000000000.cls")
        assert member is not None and member.read() == b"0"
    summaries = [r.getMessage() for r in caplog.records if "skipped" in r.getMessage()]
    assert summaries == [made.skip_line]
    assert made.skip_line is not None
    assert made.skip_line.startswith("skipped 2 of 15 files: 1 not an image, 1 truncated")


def test_shuffle_seed_mixes_classes_reproducibly(tmp_path: Path) -> None:
    labels = image_folder(tmp_path / "img")

    def keys_in_order(out: Path) -> list[int]:
        return [int(i["input"][0, 0, 0]) - 100 for i in TarShardDataset(str(out)) if i is not None]

    make_shards(tmp_path / "img", tmp_path / "plain", max_bytes=10**6)
    make_shards(tmp_path / "img", tmp_path / "a", max_bytes=10**6, shuffle_seed=3)
    make_shards(tmp_path / "img", tmp_path / "b", max_bytes=10**6, shuffle_seed=3)
    assert keys_in_order(tmp_path / "plain") == sorted(labels)  # folder order
    shuffled = keys_in_order(tmp_path / "a")
    assert shuffled != sorted(labels) and sorted(shuffled) == sorted(labels)
    assert (tmp_path / "a" / "shard-000000.tar").read_bytes() == (
        tmp_path / "b" / "shard-000000.tar"
    ).read_bytes()


def test_rerun_after_a_kill_replaces_everything_stale(tmp_path: Path) -> None:
    labels = image_folder(tmp_path / "img")
    out = tmp_path / "out"
    make_shards(tmp_path / "img", out, max_bytes=20 * 1024)
    first = {p.name: p.read_bytes() for p in out.glob("*.tar")}
    # What a kill leaves: a temp file of an unfinished shard; plus shards of an earlier,
    # longer write and its index, which must not vouch for the new shards.
    (out / ".shard-000003.tar.abc123.tmp").write_bytes(b"half a shard")
    (out / "shard-000099.tar").write_bytes(b"old")
    (out / "index.json").write_text('{"format": "selfsup-shards", "version": 1}')
    (out / "keep-me.txt").write_text("not ours")
    made = make_shards(tmp_path / "img", out, max_bytes=20 * 1024)
    names = sorted(p.name for p in out.iterdir())
    assert names == sorted(["index.json", "keep-me.txt", *first])
    assert {p.name: p.read_bytes() for p in out.glob("*.tar")} == first  # byte-for-byte
    assert made.index.samples == len(labels)


def test_a_failed_write_leaves_whole_shards_only(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    image_folder(tmp_path / "img")
    calls = {"n": 0}
    from selfsup.data import shard_writer

    real_add = shard_writer.ShardWriter.add

    def failing_add(self: shard_writer.ShardWriter, key: str, members: list) -> None:
        calls["n"] += 1
        if calls["n"] == 12:  # after the first shard (9 samples of 2 KiB)
            raise OSError(28, "No space left on device")
        real_add(self, key, members)

    monkeypatch.setattr(shard_writer.ShardWriter, "add", failing_add)
    with pytest.raises(OSError, match="No space"):
        make_shards(tmp_path / "img", tmp_path / "out", max_bytes=20 * 1024)
    left = sorted(p.name for p in (tmp_path / "out").iterdir())
    assert left and all(name.startswith("shard-") for name in left)  # no temp file, no index
    for name in left:
        with tarfile.open(tmp_path / "out" / name) as tar:
            assert tar.getnames()  # a whole tar


def test_index_problems_are_one_line(tmp_path: Path) -> None:
    image_folder(tmp_path / "img")
    out = tmp_path / "out"
    made = make_shards(tmp_path / "img", out, max_bytes=20 * 1024)
    (out / "stray.tar").write_bytes(io.BytesIO().getvalue())
    assert TarShardDataset(str(out)).shards == [str(out / s.name) for s in made.index.shards]
    (out / made.index.shards[-1].name).unlink()
    with pytest.raises(ValueError, match=r"1 of the \d+ shards listed in .*index\.json"):
        TarShardDataset(str(out))
    for bad in ("{", '{"format": "other"}', json.dumps({**made.index.to_dict(), "shards": [{}]})):
        (out / "index.json").write_text(bad)
        with pytest.raises(ValueError, match="is not a readable shard index") as err:
            read_index(out)
        assert "\n" not in str(err.value)


def test_an_empty_or_undecodable_folder_is_refused(tmp_path: Path) -> None:
    write(tmp_path / "bad" / "x.png", b"nope")
    with pytest.raises(ValueError, match="none of the 1 image files"):
        make_shards(tmp_path / "bad", tmp_path / "out", max_bytes=10**6)
    assert not (tmp_path / "out" / "index.json").exists()
    (tmp_path / "empty").mkdir()
    with pytest.raises(ValueError, match="no image files"):
        make_shards(tmp_path / "empty", tmp_path / "out", max_bytes=10**6)

"""Tar shards: exactly-once delivery across ranks x workers, epoch shuffling, bad samples."""

from __future__ import annotations

import io
import logging
import tarfile
from collections import Counter
from pathlib import Path

import pytest
from torch.utils.data import DataLoader

from selfsup.data.collate import collate
from selfsup.data.shard_index import resolve_shards
from selfsup.data.shard_writer import write_shards
from selfsup.data.shards import TarShardDataset

from .helpers import solid_png, truncated_jpeg

pytestmark = pytest.mark.filterwarnings("ignore::DeprecationWarning:torchvision.io.*")

SHARD_SIZES = [5, 1, 3, 8, 2, 4, 6]  # 7 shards, 29 samples, uneven


def sample_id(red: int) -> int:
    return red - 100


def make_shards(root: Path, sizes: list[int] = SHARD_SIZES) -> list[int]:
    """Shards whose samples are identified by their red value; labels are id % 3 (id 0: none)."""
    ids: list[int] = []
    next_id = 0
    for shard, size in enumerate(sizes):
        items = []
        for _ in range(size):
            label = -1 if next_id == 0 else next_id % 3
            items.append((solid_png(100 + next_id), "png", label))
            ids.append(next_id)
            next_id += 1
        write_shards(items, root, samples_per_shard=size, prefix=f"part{shard}")
    return ids


def collect(dataset: TarShardDataset, workers: int) -> list[tuple[int, int]]:
    """(id, label) of every sample a DataLoader yields, in order."""
    loader = DataLoader(dataset, batch_size=3, num_workers=workers, collate_fn=collate)
    out = []
    for batch in loader:
        for red, label in zip(
            batch["input"][:, 0, 0, 0].tolist(), batch["label"].tolist(), strict=True
        ):
            out.append((sample_id(red), label))
    return out


@pytest.mark.parametrize(
    ("sizes", "shuffle"), [(SHARD_SIZES, False), (SHARD_SIZES, True), ([4, 9, 2], True)]
)
def test_every_sample_once_across_ranks_and_workers(
    tmp_path: Path, sizes: list[int], shuffle: bool
) -> None:
    ids = make_shards(tmp_path, sizes)
    seen: list[tuple[int, int]] = []
    per_rank = []
    for rank in range(2):
        ds = TarShardDataset(str(tmp_path), shuffle=shuffle, seed=3, rank=rank, world_size=2)
        ds.set_epoch(1)
        got = collect(ds, workers=2)
        per_rank.append(len(got))
        seen += got
    counts = Counter(i for i, _ in seen)
    assert sorted(counts) == ids and set(counts.values()) == {1}
    assert all(label == (-1 if i == 0 else i % 3) for i, label in seen)
    assert sum(per_rank) == len(ids)


def test_shard_and_sample_splits_cover_everything_without_workers(tmp_path: Path) -> None:
    ids = make_shards(tmp_path)
    for world in (1, 3, 4, 7, 8, 10):  # fewer, equal and more consumers than shards
        seen = []
        for rank in range(world):
            ds = TarShardDataset(str(tmp_path), rank=rank, world_size=world)
            seen += [i for i, _ in collect(ds, workers=0)]
        assert sorted(seen) == ids, world


def test_set_epoch_changes_order_not_set(tmp_path: Path) -> None:
    ids = make_shards(tmp_path)
    ds = TarShardDataset(str(tmp_path / "*.tar"), shuffle=True, seed=0, shuffle_buffer=4)
    orders = []
    for epoch in (0, 1, 1):
        ds.set_epoch(epoch)
        orders.append([i for i, _ in collect(ds, workers=0)])
    assert sorted(orders[0]) == sorted(orders[1]) == ids
    assert orders[0] != orders[1]
    assert orders[1] == orders[2]  # same (seed, epoch), same order
    plain = TarShardDataset(str(tmp_path))
    assert [i for i, _ in collect(plain, workers=0)] == ids  # unshuffled: file order


def test_bad_samples_are_skipped_and_counted(
    tmp_path: Path, caplog: pytest.LogCaptureFixture
) -> None:
    path = tmp_path / "mixed.tar"
    members = [
        ("a.png", solid_png(101)),
        ("a.cls", b"2"),
        ("b.jpg", truncated_jpeg()),
        ("c.png", b"plain text"),
        ("d.cls", b"1"),  # a label with no image
        ("e.png", solid_png(105)),
        ("e.cls", b"seven"),
        ("f.png", solid_png(106)),
    ]
    with tarfile.open(path, "w") as tar:
        for name, data in members:
            info = tarfile.TarInfo(name)
            info.size = len(data)
            tar.addfile(info, io.BytesIO(data))
    with caplog.at_level(logging.WARNING, logger="selfsup.data"):
        got = collect(TarShardDataset(str(path)), workers=0)
    assert got == [(1, 2), (6, -1)]
    assert [r.getMessage() for r in caplog.records] == [
        "skipped 4 of 6 samples: 1 bad label, 1 no image, 1 not an image, 1 truncated "
        "(first: b, c, d, e)"
    ]


def test_write_shards_splits_by_count_and_omits_missing_labels(tmp_path: Path) -> None:
    items = [(solid_png(i), "png", i - 1) for i in range(5)]
    paths = write_shards(items, tmp_path / "out", samples_per_shard=2)
    assert [p.name for p in paths] == ["shard-000000.tar", "shard-000001.tar", "shard-000002.tar"]
    with tarfile.open(paths[0]) as tar:
        assert tar.getnames() == ["000000000.png", "000000001.png", "000000001.cls"]
        member = tar.extractfile("000000001.cls")
        assert member is not None and member.read() == b"0"
    again = write_shards(items, tmp_path / "again", samples_per_shard=2)
    assert [p.read_bytes() for p in again] == [p.read_bytes() for p in paths]
    with pytest.raises(ValueError, match="extension"):
        write_shards([(b"x", "txt", 0)], tmp_path / "bad", samples_per_shard=2)


def test_shard_arguments_are_checked(tmp_path: Path) -> None:
    with pytest.raises(ValueError, match=str(tmp_path)):
        resolve_shards(str(tmp_path))
    make_shards(tmp_path, [1])
    with pytest.raises(ValueError, match="both rank and world_size"):
        TarShardDataset(str(tmp_path), rank=0)
    with pytest.raises(ValueError, match=r"rank must be in 0\.\.1"):
        TarShardDataset(str(tmp_path), rank=2, world_size=2)
